//! The one-hot casing feature of each token (paper §3.1, after Reimers & Gurevych).

/// Casing classes; `Padding` is never produced for a real token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Casing {
    Padding = 0,
    Numeric = 1,
    AllLower = 2,
    AllUpper = 3,
    InitialUpper = 4,
    MainlyNumeric = 5,
    ContainsDigit = 6,
    Other = 7,
}

pub const NUM_CASINGS: i64 = 8;

pub fn casing(token: &str) -> Casing {
    let n = token.chars().count();
    if n == 0 {
        return Casing::Other;
    }
    let digits = token.chars().filter(|c| c.is_numeric()).count();
    let first = token.chars().next().unwrap_or(' ');
    if digits == n {
        Casing::Numeric
    } else if digits * 2 > n {
        Casing::MainlyNumeric
    } else if token.chars().all(|c| c.is_lowercase()) {
        Casing::AllLower
    } else if token.chars().all(|c| c.is_uppercase()) {
        Casing::AllUpper
    } else if first.is_uppercase() {
        Casing::InitialUpper
    } else if digits > 0 {
        Casing::ContainsDigit
    } else {
        Casing::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn casing_classes() {
        assert_eq!(casing("1809"), Casing::Numeric);
        assert_eq!(casing("1,809"), Casing::MainlyNumeric);
        assert_eq!(casing("boston"), Casing::AllLower);
        assert_eq!(casing("NASA"), Casing::AllUpper);
        assert_eq!(casing("Boston"), Casing::InitialUpper);
        assert_eq!(casing("b2b"), Casing::ContainsDigit);
        assert_eq!(casing("-"), Casing::Other);
        assert_eq!(casing("Élodie"), Casing::InitialUpper);
    }
}
