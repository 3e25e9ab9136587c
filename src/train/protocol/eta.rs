//! How long a protocol's remaining runs will take, from the runs it has trained so far.

/// Seconds left for `remaining` runs, `elapsed` seconds after the runs started (up to
/// `jobs` at once), given the wall times of the runs finished since then; `None` before one
/// finished. The runs still going count with the time they have had: the slots' time not
/// spent on finished runs (at most a whole run each).
pub fn seconds_left(elapsed: f64, finished: &[f64], remaining: usize, jobs: usize) -> Option<f64> {
    if finished.is_empty() {
        return None;
    }
    if remaining == 0 {
        return Some(0.0);
    }
    let spent_on_finished: f64 = finished.iter().sum();
    let per_run = spent_on_finished / finished.len() as f64;
    let at_once = jobs.clamp(1, remaining);
    let spent_on_going =
        (jobs.max(1) as f64 * elapsed - spent_on_finished).clamp(0.0, at_once as f64 * per_run);
    Some((remaining as f64 * per_run - spent_on_going).max(0.0) / at_once as f64)
}

#[cfg(test)]
mod tests {
    use super::seconds_left;

    #[test]
    fn runs_going_count_with_the_time_they_have_had() {
        // Nothing to go on before a run finishes.
        assert_eq!(seconds_left(600.0, &[], 4, 2), None);
        // One job: the run going has had the time since the last one finished.
        assert_eq!(seconds_left(150.0, &[100.0], 3, 1), Some(250.0));
        // Two folds at once, one just finished: the other is as far along, nearly done.
        let left = seconds_left(1873.0, &[1855.0], 1, 2).unwrap();
        assert!(left < 60.0, "{left}");
        // Ten folds, two at once, the first finished after 30 min: the second is about to
        // finish, then four waves of two.
        let left = seconds_left(1800.0, &[1800.0], 9, 2).unwrap();
        assert!((left - 4.0 * 1800.0).abs() < 1.0, "{left}");
    }
}
