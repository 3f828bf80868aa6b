//! Waiting for something to happen, with a deadline, instead of sleeping a fixed time:
//! a test goes on as soon as the condition holds (quick on an idle machine) and, when it
//! never does, fails saying what it waited for and what it saw last (patient on a busy
//! one, where a fixed sleep is either too short or wasted).

use std::fmt::Debug;
use std::time::{Duration, Instant};

/// The first pause between two looks; each pause doubles up to [`LONGEST_PAUSE`], so a
/// quick condition is seen at once and a slow one is not polled a hundred times a second.
const FIRST_PAUSE: Duration = Duration::from_millis(5);
const LONGEST_PAUSE: Duration = Duration::from_millis(100);

fn next_pause(pause: Duration) -> Duration {
    (pause * 2).min(LONGEST_PAUSE)
}

/// Looks at `check` until it returns `Ok`, and returns that value; panics once `within`
/// has passed, with `what` and the last `Err` (what it saw instead).
pub async fn eventually<T, E: Debug>(
    what: &str,
    within: Duration,
    mut check: impl AsyncFnMut() -> Result<T, E>,
) -> T {
    let deadline = Instant::now() + within;
    let mut pause = FIRST_PAUSE;
    loop {
        match check().await {
            Ok(value) => return value,
            Err(seen) => assert!(
                Instant::now() < deadline,
                "{what}: not within {within:?}; last seen: {seen:?}"
            ),
        }
        tokio::time::sleep(pause).await;
        pause = next_pause(pause);
    }
}

/// [`eventually`] for code outside the runtime (a blocking thread, a helper that starts
/// a process).
pub fn eventually_blocking<T, E: Debug>(
    what: &str,
    within: Duration,
    mut check: impl FnMut() -> Result<T, E>,
) -> T {
    let deadline = Instant::now() + within;
    let mut pause = FIRST_PAUSE;
    loop {
        match check() {
            Ok(value) => return value,
            Err(seen) => assert!(
                Instant::now() < deadline,
                "{what}: not within {within:?}; last seen: {seen:?}"
            ),
        }
        std::thread::sleep(pause);
        pause = next_pause(pause);
    }
}

/// `Ok(())` when `holds`, else what was seen: the shape [`eventually`] wants, for a
/// condition that is a plain yes or no.
pub fn ok_if<E>(holds: bool, seen: E) -> Result<(), E> {
    if holds { Ok(()) } else { Err(seen) }
}
