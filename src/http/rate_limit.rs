//! Per-client rate limits for the expensive and abusable endpoints (sign-up,
//! login), answered with 429 and `Retry-After`. Clients are keyed by IP address,
//! IPv6 by its /64 (one household or phone gets a whole /64). `X-Forwarded-For`
//! is only believed when the operator says a proxy sets it, so a client cannot
//! pick a fresh key per request by spoofing the header.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use crate::error::AppError;
use crate::state::AppState;

/// A token bucket: `burst` requests at once, refilled evenly over `period`.
#[derive(Clone, Copy, Debug)]
pub struct Limit {
    pub name: &'static str,
    pub burst: u32,
    pub period: Duration,
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// In-process buckets; the map is pruned of full buckets as it grows.
#[derive(Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<(&'static str, IpAddr), Bucket>>,
}

const PRUNE_ABOVE: usize = 100_000;

/// The address a limit is keyed by: IPv4 as is, IPv6 truncated to its /64.
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

impl RateLimiter {
    /// Takes one token for `ip` from `limit`'s bucket, or says how long to wait.
    /// A limit with `burst == 0` is off.
    pub fn check(&self, limit: Limit, ip: IpAddr) -> Result<(), AppError> {
        if limit.burst == 0 {
            return Ok(());
        }
        let now = Instant::now();
        let rate = f64::from(limit.burst) / limit.period.as_secs_f64();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() > PRUNE_ABOVE {
            buckets.retain(|(name, _), b| {
                *name != limit.name
                    || b.tokens + now.duration_since(b.updated).as_secs_f64() * rate < f64::from(limit.burst)
            });
        }
        let bucket = buckets
            .entry((limit.name, client_key(ip)))
            .or_insert(Bucket { tokens: f64::from(limit.burst), updated: now });
        bucket.tokens =
            (bucket.tokens + now.duration_since(bucket.updated).as_secs_f64() * rate).min(f64::from(limit.burst));
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - bucket.tokens) / rate).ceil() as u64;
            Err(AppError::RateLimited { retry_after_secs: wait.max(1) })
        }
    }
}

/// The client's address for rate limiting.
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        if state.config.trust_forwarded_for {
            // The proxy appends the address it saw; earlier entries are the client's claims.
            let forwarded = parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|s| s.trim().parse::<IpAddr>().ok())
                .next_back();
            if let Some(ip) = forwarded {
                return Ok(ClientIp(ip));
            }
        }
        Ok(ClientIp(peer))
    }
}

impl AppState {
    pub fn signup_limit(&self) -> Limit {
        Limit { name: "signup", burst: self.config.signups_per_hour, period: Duration::from_secs(3600) }
    }

    pub fn login_limit(&self) -> Limit {
        Limit { name: "login", burst: self.config.logins_per_minute, period: Duration::from_secs(60) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_refuse_then_refill() {
        let limiter = RateLimiter::default();
        let limit = Limit { name: "t", burst: 2, period: Duration::from_millis(200) };
        let ip: IpAddr = "203.0.113.9".parse().unwrap();
        assert!(limiter.check(limit, ip).is_ok());
        assert!(limiter.check(limit, ip).is_ok());
        assert!(matches!(limiter.check(limit, ip), Err(AppError::RateLimited { .. })));
        assert!(limiter.check(limit, "203.0.113.10".parse().unwrap()).is_ok(), "other clients are unaffected");
        std::thread::sleep(Duration::from_millis(120));
        assert!(limiter.check(limit, ip).is_ok(), "tokens refill over the period");
        assert!(limiter.check(Limit { burst: 0, ..limit }, ip).is_ok(), "burst 0 turns a limit off");
    }

    #[test]
    fn ipv6_is_keyed_by_its_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(c));
        assert_eq!(client_key("::ffff:192.0.2.1".parse().unwrap()), "192.0.2.1".parse::<IpAddr>().unwrap());
    }
}
