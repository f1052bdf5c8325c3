//! `cloud event list` and the original's `cloud events state-change list`
//! (both spellings reach the same command; `events` is an alias of `event`
//! wired in `cli.rs`): the recorded state changes, newest first, filtered by
//! `--resource-type` and `--resource-id`. Prints a table (`ID, RESOURCE
//! TYPE, RESOURCE ID, OLD STATE, NEW STATE, TIMESTAMP`) by default and the
//! API's JSON with `--json`. Also holds [`format_millis`], the time format
//! of the tables of this slice.

use crate::args::{Ctx, PagingArgs};
use crate::output::{OutputArgs, print_list};
use anyhow::Context as _;
use clap::{Args, Subcommand};
use cloud_model::event::{ResourceType, StateChangeEventData, StateChangeEventFilter};

/// Columns of the event list.
pub const TABLE_HEADERS: [&str; 6] = [
    "ID",
    "RESOURCE TYPE",
    "RESOURCE ID",
    "OLD STATE",
    "NEW STATE",
    "TIMESTAMP",
];

#[derive(Debug, Clone, Subcommand)]
pub enum EventCmd {
    /// List state change events, newest first.
    List(ListArgs),
    /// State change events (the original's `events state-change list`).
    #[command(subcommand)]
    StateChange(StateChangeCmd),
}

#[derive(Debug, Clone, Subcommand)]
pub enum StateChangeCmd {
    /// List state change events, newest first.
    List(ListArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    /// Type of the resource for which the events should be fetched.
    #[arg(long)]
    pub resource_type: Option<ResourceType>,
    /// ID of the resource for which the events should be fetched.
    #[arg(long)]
    pub resource_id: Option<String>,
    #[command(flatten)]
    pub paging: PagingArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Milliseconds since the epoch as `2006-01-02 15:04:05 +0000 UTC` (the
/// original's layout, in UTC).
pub fn format_millis(millis: i64) -> String {
    let secs = millis.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} +0000 UTC",
        of_day / 3600,
        (of_day % 3600) / 60,
        of_day % 60
    )
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn row(e: &StateChangeEventData) -> Vec<String> {
    vec![
        e.event.id.clone(),
        e.state_change.resource_type.to_string(),
        e.state_change.resource_id.clone(),
        e.state_change.old_state.clone(),
        e.state_change.new_state.clone(),
        format_millis(e.event.timestamp),
    ]
}

pub async fn run(cmd: EventCmd, ctx: &Ctx) -> anyhow::Result<()> {
    let args = match cmd {
        EventCmd::List(args) | EventCmd::StateChange(StateChangeCmd::List(args)) => args,
    };
    let filter = StateChangeEventFilter {
        paging: args.paging.paging(),
        resource_type: args.resource_type,
        resource_id: args.resource_id,
        ..Default::default()
    };
    let events = ctx
        .client
        .list_state_change_events(&filter)
        .await
        .context("failed to list state change events")?;
    print_list(&events, &TABLE_HEADERS, row, &args.output)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Command, try_parse_from};

    #[test]
    fn times_print_in_the_original_layout() {
        assert_eq!(format_millis(0), "1970-01-01 00:00:00 +0000 UTC");
        assert_eq!(
            format_millis(1_712_745_600_123),
            "2024-04-10 10:40:00 +0000 UTC"
        );
        assert_eq!(
            format_millis(951_782_400_000),
            "2000-02-29 00:00:00 +0000 UTC"
        );
        assert_eq!(format_millis(-1000), "1969-12-31 23:59:59 +0000 UTC");
    }

    #[test]
    fn both_spellings_parse() {
        for args in [
            vec!["cloud", "event", "list", "--resource-type", "installation"],
            vec![
                "cloud",
                "events",
                "state-change",
                "list",
                "--resource-type",
                "installation",
            ],
        ] {
            let Command::Event(g) = try_parse_from(args).unwrap().command else {
                panic!("not event")
            };
            let (EventCmd::List(list) | EventCmd::StateChange(StateChangeCmd::List(list))) =
                g.command;
            assert_eq!(list.resource_type, Some(ResourceType::Installation));
        }
        assert!(try_parse_from(["cloud", "event", "list", "--resource-type", "clusters"]).is_err());
    }
}
