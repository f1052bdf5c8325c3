//! Flags shared by the client commands, the context they build, and value
//! parsers with the original's (Go, pflag) syntax.
//!
//! Every flag of every command can also come from the environment as
//! `CP_<FLAG_NAME>` (`--per-page` → `CP_PER_PAGE`) and every boolean flag
//! takes `--flag`, `--flag=true` or `--flag=false`: both are applied to the
//! whole command tree in `cli.rs`, so command files need not repeat them.

use anyhow::Context as _;
use clap::Args;
use cloud_client::Client;
use cloud_model::filter::Paging;
use serde::Serialize;
use std::time::Duration;

/// Default API address of the client commands.
pub const DEFAULT_SERVER: &str = "http://localhost:8075";

/// Flags of the groups that talk to the API (`cluster`, `installation`,
/// `group`, `database`, `security`, `event`). They are global within their
/// group, so they may come before or after the subcommand.
#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    /// The provisioning server whose API will be queried.
    #[arg(long, global = true, default_value = DEFAULT_SERVER)]
    pub server: String,

    /// Extra HTTP header sent to the API, KEY=VALUE (repeatable).
    #[arg(long = "header", global = true, value_name = "KEY=VALUE", value_parser = parse_key_value, value_delimiter = ',')]
    pub headers: Vec<(String, String)>,

    /// Print the request that would be sent, as JSON, and exit without calling the API.
    #[arg(long, global = true)]
    pub dry_run: bool,
}

/// Flags of the groups whose create command has a `--header` flag of its own
/// (`webhook`, `subscription`): only `--server` is shared. (The original
/// also sent those webhook headers to the API, a quirk we fix.)
#[derive(Debug, Clone, Args)]
pub struct ServerOnlyArgs {
    /// The provisioning server whose API will be queried.
    #[arg(long, global = true, default_value = DEFAULT_SERVER)]
    pub server: String,
}

impl ClientArgs {
    pub fn ctx(&self) -> anyhow::Result<Ctx> {
        let client = Client::with_headers(&self.server, self.headers.iter().cloned())
            .with_context(|| format!("cannot use server {:?}", self.server))?;
        Ok(Ctx {
            client,
            server: self.server.clone(),
            dry_run: self.dry_run,
        })
    }
}

impl ServerOnlyArgs {
    pub fn ctx(&self) -> anyhow::Result<Ctx> {
        let client = Client::new(&self.server)
            .with_context(|| format!("cannot use server {:?}", self.server))?;
        Ok(Ctx {
            client,
            server: self.server.clone(),
            dry_run: false,
        })
    }
}

/// What a client command runs with.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub client: Client,
    /// The API address (`--server`).
    pub server: String,
    /// `--dry-run`: print the request body instead of sending it.
    pub dry_run: bool,
}

impl Ctx {
    /// With `--dry-run`, prints `request` as JSON and returns true: the
    /// caller then returns without calling the API.
    pub fn dry_run<T: Serialize + ?Sized>(&self, request: &T) -> anyhow::Result<bool> {
        if self.dry_run {
            crate::output::print_json(request)?;
        }
        Ok(self.dry_run)
    }
}

/// `--page`, `--per-page`, `--include-deleted` of list commands.
#[derive(Debug, Clone, Copy, Args)]
pub struct PagingArgs {
    /// The page of objects to fetch.
    #[arg(long, default_value_t = 0)]
    pub page: i64,
    /// The number of objects to fetch per page (-1 for all).
    #[arg(long, default_value_t = cloud_model::filter::DEFAULT_PER_PAGE, allow_negative_numbers = true)]
    pub per_page: i64,
    /// Whether to include deleted objects.
    #[arg(long)]
    pub include_deleted: bool,
}

impl PagingArgs {
    pub fn paging(&self) -> Paging {
        Paging {
            page: self.page,
            per_page: self.per_page,
            include_deleted: self.include_deleted,
        }
    }

    /// The query parameters the original client sends for paging.
    pub fn query(&self) -> Vec<(&'static str, String)> {
        vec![
            ("page", self.page.to_string()),
            ("per_page", self.per_page.to_string()),
            ("include_deleted", self.include_deleted.to_string()),
        ]
    }
}

/// `KEY=VALUE`, split on the first `=` (pflag `StringToString`).
pub fn parse_key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("{s:?} must be formatted as KEY=VALUE")),
    }
}

/// A Go duration (`time.ParseDuration`): `300ms`, `1.5h`, `2h45m`, `0`.
/// Units `ns`, `us`/`µs`, `ms`, `s`, `m`, `h`. Negative durations are refused.
pub fn parse_go_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration {s:?} (examples: 30s, 3m, 1h30m)");
    let rest = s.strip_prefix('+').unwrap_or(s);
    if rest.starts_with('-') {
        return Err(format!("duration {s:?} must not be negative"));
    }
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total = 0f64;
    let mut chars = rest.char_indices().peekable();
    while chars.peek().is_some() {
        let start = chars.peek().map_or(0, |(i, _)| *i);
        let mut end = start;
        while let Some((i, c)) = chars.peek().copied() {
            if c.is_ascii_digit() || c == '.' {
                end = i + c.len_utf8();
                chars.next();
            } else {
                break;
            }
        }
        let number: f64 = rest[start..end].parse().map_err(|_| bad())?;
        let unit_start = end;
        let mut unit_end = end;
        while let Some((i, c)) = chars.peek().copied() {
            if c.is_ascii_digit() || c == '.' {
                break;
            }
            unit_end = i + c.len_utf8();
            chars.next();
        }
        let nanos_per_unit = match &rest[unit_start..unit_end] {
            "ns" => 1e0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(bad()),
        };
        total += number * nanos_per_unit;
    }
    if !total.is_finite() || total > u64::MAX as f64 {
        return Err(bad());
    }
    Ok(Duration::from_nanos(total.round() as u64))
}

/// Formats a duration as Go's `time.Duration.String()` would (`3m0s`).
pub fn format_go_duration(d: Duration) -> String {
    let total = d.as_secs();
    let nanos = d.subsec_nanos();
    if total == 0 && nanos == 0 {
        return "0s".to_string();
    }
    if total == 0 {
        return if nanos.is_multiple_of(1_000_000) {
            format!("{}ms", nanos / 1_000_000)
        } else if nanos.is_multiple_of(1_000) {
            format!("{}µs", nanos / 1_000)
        } else {
            format!("{nanos}ns")
        };
    }
    let (h, m, s) = (total / 3600, (total % 3600) / 60, total % 60);
    let secs = if nanos == 0 {
        format!("{s}s")
    } else {
        let frac = format!("{:09}", nanos);
        format!("{s}.{}s", frac.trim_end_matches('0'))
    };
    match (h, m) {
        (0, 0) => secs,
        (0, m) => format!("{m}m{secs}"),
        (h, m) => format!("{h}h{m}m{secs}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_values_split_on_the_first_equals() {
        assert_eq!(
            parse_key_value("a=b=c").unwrap(),
            ("a".into(), "b=c".into())
        );
        assert_eq!(parse_key_value("a=").unwrap(), ("a".into(), String::new()));
        assert!(parse_key_value("novalue").is_err());
        assert!(parse_key_value("=v").is_err());
    }

    #[test]
    fn go_durations_parse() {
        let cases = [
            ("0", 0),
            ("3m", 180_000_000_000),
            ("1h30m", 5_400_000_000_000),
            ("1.5h", 5_400_000_000_000),
            ("300ms", 300_000_000),
            ("2h45m10s", 9_910_000_000_000),
            ("10us", 10_000),
            ("7ns", 7),
        ];
        for (text, nanos) in cases {
            assert_eq!(parse_go_duration(text).unwrap().as_nanos(), nanos, "{text}");
        }
        for bad in ["", "3", "m", "3x", "1h-2m", "-3m", "abc"] {
            assert!(parse_go_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn go_durations_format() {
        assert_eq!(format_go_duration(Duration::from_secs(180)), "3m0s");
        assert_eq!(format_go_duration(Duration::ZERO), "0s");
        assert_eq!(
            format_go_duration(Duration::from_secs(3600 * 72)),
            "72h0m0s"
        );
        assert_eq!(format_go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format_go_duration(Duration::from_millis(300)), "300ms");
    }

    #[test]
    fn a_server_url_without_scheme_is_refused() {
        let args = ClientArgs {
            server: "localhost:8075".into(),
            headers: vec![],
            dry_run: false,
        };
        let err = args.ctx().unwrap_err();
        assert!(format!("{err:#}").contains("http://"), "{err:#}");
        let args = ClientArgs {
            server: "http://localhost:8075".into(),
            headers: vec![("X-A".into(), "1".into())],
            dry_run: true,
        };
        let ctx = args.ctx().unwrap();
        assert!(ctx.dry_run);
        assert_eq!(ctx.client.base_url(), "http://localhost:8075");
    }

    #[test]
    fn paging_query_is_sent_in_full() {
        let p = PagingArgs {
            page: 1,
            per_page: -1,
            include_deleted: true,
        };
        assert_eq!(
            p.query(),
            vec![
                ("page", "1".to_string()),
                ("per_page", "-1".to_string()),
                ("include_deleted", "true".to_string())
            ]
        );
        assert_eq!(p.paging().per_page, -1);
    }
}
