//! App-generated, time-ordered 64-bit ids, so both schemas stay alike and ids sort by time.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

static LAST: AtomicI64 = AtomicI64::new(0);

/// The current time in milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// A new id: milliseconds since the epoch in the high bits and 16 low bits that
/// start at a random value (so two nodes rarely collide) and count up within a
/// millisecond. Strictly increasing within one process.
pub fn next_id() -> i64 {
    let candidate = (now_ms() << 16) | i64::from(rand::random::<u16>() & 0x7fff);
    let mut last = LAST.load(Ordering::Relaxed);
    loop {
        let next = if candidate > last { candidate } else { last + 1 };
        match LAST.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(actual) => last = actual,
        }
    }
}

/// The smallest id that can have been made at `ms`: lets time bounds be expressed as ids.
pub fn id_floor_for_time(ms: i64) -> i64 {
    ms << 16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_increase_and_carry_the_time() {
        let before = now_ms();
        let a = next_id();
        let b = next_id();
        assert!(b > a);
        assert!(a >> 16 >= before);
        assert!(a >= id_floor_for_time(before));
    }
}
