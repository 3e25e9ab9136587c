//! The random draws of a training run (initial weights, dropout masks), made to depend on
//! its seed only, also when several runs share the process (`cv --jobs 2`). libtorch has
//! one global generator per device: two runs drawing from it at once would each get the
//! other's numbers. So a draw takes a lock, seeds the generator from its run's own stream
//! (a seed and a count of draws, kept by the run's thread) and draws.

use std::cell::Cell;
use std::sync::Mutex;

use tch::Tensor;

/// Held while libtorch's global generator is seeded and drawn from.
static GENERATOR: Mutex<()> = Mutex::new(());

thread_local! {
    /// This thread's run: its seed and the number of draws made so far.
    static STREAM: Cell<Option<(u64, u64)>> = const { Cell::new(None) };
    /// Whether this thread holds `GENERATOR`, so that draws nested in a held one go on.
    static HOLDING: Cell<bool> = const { Cell::new(false) };
}

/// Runs `work` (creating a model's weights, say) with the global generator seeded with
/// `seed` and no other run drawing meanwhile.
pub fn seeded<T>(seed: u64, work: impl FnOnce() -> T) -> T {
    exclusive(|| {
        tch::manual_seed(seed as i64);
        work()
    })
}

/// Runs `work` with no other thread drawing meanwhile. Every draw made outside a stream
/// goes through here (a model's initial weights, even when they are then overwritten by
/// loading), so that it cannot fall between another run's seeding and its draw.
pub fn exclusive<T>(work: impl FnOnce() -> T) -> T {
    if HOLDING.with(|h| h.get()) {
        return work();
    }
    let _held = GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
    let _holding = Holding::start();
    work()
}

/// Marks this thread as holding the generator until dropped, also when `work` panics.
struct Holding;

impl Holding {
    fn start() -> Holding {
        HOLDING.with(|h| h.set(true));
        Holding
    }
}

impl Drop for Holding {
    fn drop(&mut self) {
        HOLDING.with(|h| h.set(false));
    }
}

/// Runs `work` (a training's epochs) with this thread's dropout masks drawn from a stream
/// of `seed`.
pub fn with_stream<T>(seed: u64, work: impl FnOnce() -> T) -> T {
    let before = STREAM.with(|s| s.replace(Some((seed, 0))));
    let out = work();
    STREAM.with(|s| s.set(before));
    out
}

/// Inverted dropout of `x` with probability `p` when training. Inside `with_stream` the
/// mask comes from the thread's stream; elsewhere from libtorch's generator as it is,
/// drawn while no other run draws.
pub fn dropout(x: &Tensor, p: f64, train: bool) -> Tensor {
    if !train || p <= 0.0 {
        return x.shallow_clone();
    }
    let Some((seed, draws)) = STREAM.with(|s| s.get()) else {
        return exclusive(|| x.dropout(p, train));
    };
    STREAM.with(|s| s.set(Some((seed, draws + 1))));
    let mask = seeded(mix(seed, draws), || x.empty_like().bernoulli_float_(1.0 - p));
    x * mask / (1.0 - p)
}

/// A seed for draw `n` of a stream (splitmix64 of the pair), never negative as an i64.
fn mix(seed: u64, n: u64) -> u64 {
    let mut z = seed ^ n.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) >> 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_gives_the_same_masks_whatever_else_draws() {
        let ones = || Tensor::ones([1000], (tch::Kind::Float, tch::Device::Cpu));
        let masks = move || {
            let x = ones();
            with_stream(9, || (dropout(&x, 0.5, true), dropout(&x, 0.5, true)))
        };
        let x = ones();
        let (a1, a2) = masks();
        let _ = exclusive(|| Tensor::rand([100], (tch::Kind::Float, tch::Device::Cpu)));
        let (b1, b2) = std::thread::spawn(masks).join().unwrap();
        assert!(a1.equal(&b1) && a2.equal(&b2), "same stream, same masks");
        assert!(!a1.equal(&a2), "successive draws differ");
        let kept = a1.ne(0.0).sum(tch::Kind::Int64).int64_value(&[]);
        assert!((350..650).contains(&kept), "about half kept: {kept}");
        assert_eq!(a1.max().double_value(&[]), 2.0, "kept values scaled by 1/(1-p)");
        assert!(dropout(&x, 0.5, false).equal(&x));
    }

    #[test]
    fn draws_nested_in_a_held_generator_go_on_and_a_panic_releases_it() {
        let nested = seeded(1, || exclusive(|| seeded(2, || 7)));
        assert_eq!(nested, 7);
        let _ = std::thread::spawn(|| seeded(3, || panic!("in a draw"))).join();
        assert_eq!(std::thread::spawn(|| exclusive(|| 8)).join().unwrap(), 8);
    }
}
