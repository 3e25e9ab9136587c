//! Sentences longer than an encoder's limit are cut into overlapping windows; each sub-word
//! takes its features from the window where it sits farthest from an edge, so it sees as much
//! context on both sides as the limit allows.

/// Half-open sub-word ranges `[start, end)` covering `n` sub-words with windows of at most
/// `width`, each starting half a window after the one before; the last ends at `n`.
pub fn plan(n: usize, width: usize) -> Vec<(usize, usize)> {
    let width = width.max(1);
    if n <= width {
        return vec![(0, n)];
    }
    let stride = (width / 2).max(1);
    let mut windows = Vec::new();
    let mut start = 0;
    loop {
        if start + width >= n {
            windows.push((n - width, n));
            break;
        }
        windows.push((start, start + width));
        start += stride;
    }
    windows
}

/// For each sub-word, the window it takes its features from.
pub fn assign(n: usize, windows: &[(usize, usize)]) -> Vec<usize> {
    (0..n)
        .map(|j| {
            let margin = |&(s, e): &(usize, usize)| {
                if (s..e).contains(&j) {
                    (j - s).min(e - 1 - j) as i64
                } else {
                    -1
                }
            };
            // Ties go to the earlier window, so the choice is deterministic.
            let mut best = 0;
            for (w, win) in windows.iter().enumerate() {
                if margin(win) > margin(&windows[best]) {
                    best = w;
                }
            }
            best
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_input_is_one_window() {
        assert_eq!(plan(5, 510), vec![(0, 5)]);
        assert_eq!(plan(510, 510), vec![(0, 510)]);
        assert_eq!(assign(3, &plan(3, 10)), vec![0, 0, 0]);
    }

    #[test]
    fn windows_overlap_by_half_and_cover_everything() {
        let w = plan(25, 10);
        assert_eq!(w, vec![(0, 10), (5, 15), (10, 20), (15, 25)]);
        let a = assign(25, &w);
        for (j, &k) in a.iter().enumerate() {
            let (s, e) = w[k];
            assert!((s..e).contains(&j), "sub-word {j} is in its window");
        }
        // Inner sub-words are never taken from the edge of a window.
        for (j, &k) in a.iter().enumerate().skip(3).take(19) {
            let (s, e) = w[k];
            assert!(j - s >= 2 && e - 1 - j >= 2, "sub-word {j} at {s}..{e}");
        }
    }

    #[test]
    fn last_window_is_full_width() {
        assert_eq!(plan(12, 10), vec![(0, 10), (2, 12)]);
        assert_eq!(plan(1000, 510).last(), Some(&(490, 1000)));
    }
}
