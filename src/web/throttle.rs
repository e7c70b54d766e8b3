//! Sign-in throttling: attempts are counted before the password is hashed,
//! per (user, address), per user and per address, with bounded memory.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

/// Failures older than this are forgotten.
pub const WINDOW: i64 = 15 * 60;
/// Most entries kept; when full and nothing has expired, sign-in is refused
/// rather than forgetting an attacker's count.
const MAX_ENTRIES: usize = 200_000;
/// Most (user, address) pairs remembered as "signed in from here before".
const MAX_KNOWN: usize = 20_000;

/// One throttle rule: `free` failures, then a pause after each failure that
/// starts at `first_wait` and doubles up to `max_wait`.
struct Rule {
    prefix: &'static str,
    free: u32,
    first_wait: i64,
    max_wait: i64,
}

/// The guesser: one name from one address. Pauses from 15 s to 15 minutes.
const PAIR: Rule = Rule {
    prefix: "pair",
    free: 5,
    first_wait: 15,
    max_wait: WINDOW,
};
/// One name from many addresses: two guesses a minute, but the real user
/// waits at most half a minute, and not at all from an address they
/// signed in from before.
const USER: Rule = Rule {
    prefix: "user",
    free: 20,
    first_wait: 30,
    max_wait: 30,
};
/// Many names from one address (an office behind one NAT): generous, and
/// people who signed in from that address before are not held up by it.
const ADDR: Rule = Rule {
    prefix: "addr",
    free: 50,
    first_wait: 60,
    max_wait: 60,
};

#[derive(Default)]
struct Inner {
    /// key -> (failures counted, last counted at)
    counts: HashMap<String, (u32, i64)>,
    known: HashSet<String>,
}

#[derive(Default)]
pub struct Throttle(Mutex<Inner>);

/// An attempt that was counted in advance; `succeeded` takes it back.
pub struct Attempt {
    keys: Vec<String>,
    pair: String,
}

fn wait(rule: &Rule, entry: Option<&(u32, i64)>, now: i64) -> i64 {
    match entry {
        Some((n, last)) if *n >= rule.free && now - last < WINDOW => {
            let delay = (rule.first_wait << (n - rule.free).min(20)).min(rule.max_wait);
            (last + delay - now).max(0)
        }
        _ => 0,
    }
}

impl Throttle {
    /// Count an attempt before any hashing; `Err(seconds)` when it must wait.
    pub fn begin(&self, user: &str, addr: &str, now: i64) -> Result<Attempt, i64> {
        let Ok(mut inner) = self.0.lock() else {
            return Err(60);
        };
        let pair = format!("{user}|{addr}");
        let known = inner.known.contains(&pair);
        let mut rules: Vec<(&Rule, String)> = vec![(&PAIR, format!("{}:{pair}", PAIR.prefix))];
        if !known {
            rules.push((&USER, format!("{}:{user}", USER.prefix)));
            rules.push((&ADDR, format!("{}:{addr}", ADDR.prefix)));
        }
        let longest = rules
            .iter()
            .map(|(r, k)| wait(r, inner.counts.get(k), now))
            .max()
            .unwrap_or(0);
        if longest > 0 {
            return Err(longest);
        }
        if inner.counts.len() + rules.len() > MAX_ENTRIES {
            inner.counts.retain(|_, (_, last)| now - *last < WINDOW);
            if inner.counts.len() + rules.len() > MAX_ENTRIES {
                return Err(60);
            }
        }
        let mut keys = Vec::with_capacity(rules.len());
        for (_, k) in rules {
            let e = inner.counts.entry(k.clone()).or_insert((0, now));
            e.0 += 1;
            e.1 = now;
            keys.push(k);
        }
        Ok(Attempt { keys, pair })
    }

    /// The password was right: the attempt does not count, and this address
    /// is remembered as one the user signs in from.
    pub fn succeeded(&self, attempt: Attempt) {
        let Ok(mut inner) = self.0.lock() else {
            return;
        };
        for k in &attempt.keys {
            if k.starts_with(PAIR.prefix) {
                inner.counts.remove(k);
            } else if let Some(e) = inner.counts.get_mut(k) {
                e.0 = e.0.saturating_sub(1);
            }
        }
        if inner.known.len() >= MAX_KNOWN {
            inner.known.clear();
        }
        inner.known.insert(attempt.pair);
    }

    /// Entries held (for tests of the bound).
    pub fn len(&self) -> usize {
        self.0.lock().map_or(0, |i| i.counts.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_bounded_and_pruned_once_old() {
        let t = Throttle::default();
        let mut i = 0u32;
        while t.len() + 3 <= MAX_ENTRIES {
            let _ = t.begin(&format!("u{i}"), &format!("a{i}"), 0);
            i += 1;
        }
        // Full: refused rather than forgetting anyone's count ...
        assert!(t.begin("new", "addr", 1).is_err());
        // ... until the entries are older than the window.
        assert!(t.begin("new", "addr", WINDOW + 1).is_ok());
        assert!(t.len() <= 3, "pruned to the new attempt: {}", t.len());
    }

    #[test]
    fn pair_user_and_address_rules() {
        let t = Throttle::default();
        for _ in 0..5 {
            assert!(t.begin("admin", "10.0.0.1", 100).is_ok());
        }
        assert_eq!(t.begin("admin", "10.0.0.1", 100).err(), Some(15));
        assert_eq!(t.begin("admin", "10.0.0.1", 114).err(), Some(1));
        // The same address, another name: not locked out.
        assert!(t.begin("bob", "10.0.0.1", 100).is_ok());
        // Twenty failures for one name from many addresses pause it for at most 30 s ...
        for i in 0..20 {
            let _ = t.begin("carol", &format!("10.1.0.{i}"), 200);
        }
        let w = t.begin("carol", "10.2.0.1", 200).err().unwrap_or(0);
        assert!((1..=30).contains(&w), "{w}");
        // ... and not at all from an address carol signed in from before.
        let t2 = Throttle::default();
        if let Ok(a) = t2.begin("carol", "10.9.9.9", 1) {
            t2.succeeded(a);
        }
        for i in 0..40 {
            let _ = t2.begin("carol", &format!("10.1.0.{i}"), 300);
        }
        assert!(t2.begin("carol", "10.9.9.9", 300).is_ok());
        assert!(t2.begin("carol", "10.3.0.1", 300).is_err());
    }
}
