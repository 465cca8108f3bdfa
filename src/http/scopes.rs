//! OAuth scopes as Mastodon defines them: the top-level `read`, `write`,
//! `follow`, `push`, `profile`, their granular forms (`read:statuses`, …), and admin scopes.

const GRANULAR: &[&str] = &[
    "accounts",
    "blocks",
    "bookmarks",
    "conversations",
    "favourites",
    "filters",
    "follows",
    "lists",
    "media",
    "mutes",
    "notifications",
    "reports",
    "search",
    "statuses",
];

const ADMIN_GRANULAR: &[&str] = &[
    "accounts",
    "reports",
    "domain_allows",
    "domain_blocks",
    "ip_blocks",
    "email_domain_blocks",
    "canonical_email_blocks",
];

/// Every scope this server knows, for discovery documents.
pub fn supported() -> Vec<String> {
    let mut all: Vec<String> =
        ["read", "write", "follow", "push", "profile", "admin:read", "admin:write"].map(String::from).to_vec();
    for kind in ["read", "write"] {
        all.extend(GRANULAR.iter().map(|g| format!("{kind}:{g}")));
    }
    for kind in ["admin:read", "admin:write"] {
        all.extend(ADMIN_GRANULAR.iter().map(|g| format!("{kind}:{g}")));
    }
    all
}

pub fn is_valid(scope: &str) -> bool {
    match scope {
        "read" | "write" | "follow" | "push" | "profile" | "admin:read" | "admin:write" => true,
        _ => {
            if let Some(rest) = scope.strip_prefix("admin:read:").or_else(|| scope.strip_prefix("admin:write:")) {
                ADMIN_GRANULAR.contains(&rest)
            } else if let Some(rest) = scope.strip_prefix("read:").or_else(|| scope.strip_prefix("write:")) {
                GRANULAR.contains(&rest)
            } else {
                false
            }
        }
    }
}

/// Parses a space- (or `+`-) separated scope list; `None` if any is unknown.
/// An empty list means Mastodon's default, `read`.
pub fn parse(list: &str) -> Option<Vec<String>> {
    let mut scopes: Vec<String> = Vec::new();
    for scope in list.split([' ', '+']).filter(|s| !s.is_empty()) {
        if !is_valid(scope) {
            return None;
        }
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    if scopes.is_empty() {
        scopes.push("read".into());
    }
    Some(scopes)
}

/// Whether `granted` (a space-separated list) covers `required`.
pub fn grants(granted: &str, required: &str) -> bool {
    granted.split_whitespace().any(|scope| {
        scope == required
            || required.strip_prefix(scope).is_some_and(|rest| rest.starts_with(':'))
            || (scope == "follow"
                && matches!(
                    required,
                    "read:follows" | "write:follows" | "read:blocks" | "write:blocks" | "read:mutes" | "write:mutes"
                ))
            || (scope == "profile" && required == "read:accounts:profile")
    })
}

/// Whether every requested scope is within what the app registered.
pub fn within(requested: &[String], registered: &str) -> bool {
    requested.iter().all(|scope| grants(registered, scope))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_rules() {
        assert!(grants("read write", "write:statuses"));
        assert!(!grants("read", "write:statuses"));
        assert!(grants("follow", "write:follows"));
        assert!(!grants("read:accounts", "read:statuses"));
        assert!(grants("admin:read", "admin:read:accounts"));
        assert_eq!(parse("read write:statuses").unwrap(), ["read", "write:statuses"]);
        assert!(parse("read delete_everything").is_none());
        assert_eq!(parse("").unwrap(), ["read"]);
        assert!(within(&["read:statuses".into()], "read write"));
        assert!(!within(&["write".into()], "read"));
    }
}
