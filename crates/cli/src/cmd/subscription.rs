//! `cloud subscription …`: create, get, list and delete event
//! subscriptions, with the original's flags (original-interfaces §2.6).
//! `--failure-threshold` takes a Go duration (`30s`, `1h`) and is sent in
//! nanoseconds. `list` prints a table (`ID, EVENT TYPE, OWNER, LAST DELIVERY
//! ATTEMPT, LAST DELIVERY STATUS`) by default and the API's JSON with
//! `--json`. `replay` and `deliveries` are our additions (event delivery:
//! re-send from a cursor, show what was delivered).

use crate::args::{Ctx, PagingArgs, parse_go_duration, parse_key_value};
use crate::cmd::event::format_millis;
use crate::cmd::webhook::headers_from_flags;
use crate::output::{OutputArgs, print_json, print_list};
use anyhow::Context as _;
use clap::{Args, Subcommand};
use cloud_model::event::{EventDeliveryStatus, EventType};
use cloud_model::subscription::{
    CreateSubscriptionRequest, DeliveryRecord, ReplayRequest, Subscription, SubscriptionFilter,
};
use std::time::Duration;

/// Columns of `subscription list`.
pub const TABLE_HEADERS: [&str; 5] = [
    "ID",
    "EVENT TYPE",
    "OWNER",
    "LAST DELIVERY ATTEMPT",
    "LAST DELIVERY STATUS",
];

#[derive(Debug, Clone, Subcommand)]
pub enum SubscriptionCmd {
    /// Create a subscription.
    Create(CreateArgs),
    /// List subscriptions.
    List(ListArgs),
    /// Get a particular subscription.
    Get(SubscriptionArg),
    /// Delete a subscription.
    Delete(SubscriptionArg),
    /// Re-send a subscription's events from an event, a time, or the last delivered one.
    Replay(ReplayArgs),
    /// Show a subscription's delivery state and deliveries, newest first.
    Deliveries(DeliveriesArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// The ID of the subscription.
    #[arg(long)]
    pub subscription: String,
    /// Re-send from this event (included).
    #[arg(long, conflicts_with = "from_timestamp")]
    pub from_event_id: Option<String>,
    /// Re-send from this time in milliseconds since the epoch (included).
    #[arg(long)]
    pub from_timestamp: Option<i64>,
}

#[derive(Debug, Clone, Args)]
pub struct DeliveriesArgs {
    /// The ID of the subscription.
    #[arg(long)]
    pub subscription: String,
    /// Only deliveries in this status (not-attempted, delivered, retrying, failed).
    #[arg(long, value_parser = parse_delivery_status)]
    pub status: Option<EventDeliveryStatus>,
    #[command(flatten)]
    pub paging: PagingArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Columns of `subscription deliveries`.
pub const DELIVERY_HEADERS: [&str; 7] = [
    "SEQUENCE",
    "EVENT ID",
    "STATUS",
    "ATTEMPTS",
    "LAST ATTEMPT",
    "NEXT ATTEMPT",
    "LAST ERROR",
];

fn parse_delivery_status(s: &str) -> Result<EventDeliveryStatus, String> {
    [
        EventDeliveryStatus::NotAttempted,
        EventDeliveryStatus::Delivered,
        EventDeliveryStatus::Retrying,
        EventDeliveryStatus::Failed,
    ]
    .into_iter()
    .find(|v| v.as_str() == s)
    .ok_or_else(|| {
        format!("unknown delivery status {s:?} (one of not-attempted, delivered, retrying, failed)")
    })
}

/// A time, or `-` for none (0).
fn when(millis: i64) -> String {
    if millis == 0 {
        "-".to_string()
    } else {
        format_millis(millis)
    }
}

fn delivery_row(d: &DeliveryRecord) -> Vec<String> {
    vec![
        d.sequence.to_string(),
        d.event_id.clone(),
        d.status.as_str().to_string(),
        d.attempts.to_string(),
        when(d.last_attempt),
        when(d.next_attempt_at),
        d.last_error.clone(),
    ]
}

#[derive(Debug, Clone, Args)]
pub struct CreateArgs {
    /// Name of the subscription.
    #[arg(long, default_value = "")]
    pub name: String,
    /// URL the events are delivered to.
    #[arg(long)]
    pub url: String,
    /// An opaque identifier describing the owner of the subscription.
    #[arg(long)]
    pub owner: String,
    /// Type of events to subscribe to.
    #[arg(long, default_value = "resourceStateChange")]
    pub event_type: String,
    /// How long a failing event is retried before it is given up (e.g. 30s, 1h; at most 72h).
    #[arg(long, default_value = "0", value_parser = parse_go_duration)]
    pub failure_threshold: Duration,
    /// A header sent with every delivery, KEY=VALUE (repeatable).
    #[arg(long = "header", value_name = "KEY=VALUE", value_parser = parse_key_value, value_delimiter = ',')]
    pub headers: Vec<(String, String)>,
    /// A header whose value the server reads from its environment, KEY=ENV_VAR (repeatable).
    #[arg(long = "header-from-env", value_name = "KEY=ENV_VAR", value_parser = parse_key_value, value_delimiter = ',')]
    pub headers_from_env: Vec<(String, String)>,
}

/// `--subscription <id>` (required).
#[derive(Debug, Clone, Args)]
pub struct SubscriptionArg {
    /// The ID of the subscription.
    #[arg(long)]
    pub subscription: String,
}

#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    /// The owner by which to filter subscriptions.
    #[arg(long)]
    pub owner: Option<String>,
    /// The event type by which to filter subscriptions.
    #[arg(long)]
    pub event_type: Option<EventType>,
    #[command(flatten)]
    pub paging: PagingArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

impl CreateArgs {
    /// The API request these flags make.
    pub fn request(&self) -> anyhow::Result<CreateSubscriptionRequest> {
        let failure_threshold = i64::try_from(self.failure_threshold.as_nanos())
            .context("--failure-threshold is too long")?;
        Ok(CreateSubscriptionRequest {
            name: self.name.clone(),
            url: self.url.clone(),
            owner_id: self.owner.clone(),
            event_type: self.event_type.clone(),
            failure_threshold,
            headers: headers_from_flags(&self.headers, &self.headers_from_env),
        })
    }
}

fn row(s: &Subscription) -> Vec<String> {
    vec![
        s.id.clone(),
        s.event_type.to_string(),
        s.owner_id.clone(),
        format_millis(s.last_delivery_attempt_at),
        s.last_delivery_status.to_string(),
    ]
}

pub async fn run(cmd: SubscriptionCmd, ctx: &Ctx) -> anyhow::Result<()> {
    let client = &ctx.client;
    match cmd {
        SubscriptionCmd::Create(args) => {
            let subscription = client
                .create_subscription(&args.request()?)
                .await
                .context("failed to create subscription")?;
            print_json(&subscription)
        }
        SubscriptionCmd::List(args) => {
            let filter = SubscriptionFilter {
                paging: args.paging.paging(),
                owner: args.owner,
                event_type: args.event_type,
            };
            let subscriptions = client
                .list_subscriptions(&filter)
                .await
                .context("failed to list subscriptions")?;
            print_list(&subscriptions, &TABLE_HEADERS, row, &args.output)
        }
        SubscriptionCmd::Get(args) => match client
            .get_subscription(&args.subscription)
            .await
            .context("failed to get subscription")?
        {
            Some(subscription) => print_json(&subscription),
            None => Ok(()),
        },
        SubscriptionCmd::Delete(args) => client
            .delete_subscription(&args.subscription)
            .await
            .context("failed to delete subscription"),
        SubscriptionCmd::Replay(args) => {
            let request = ReplayRequest {
                from_event_id: args.from_event_id,
                from_timestamp: args.from_timestamp,
            };
            let replayed = client
                .replay_subscription(&args.subscription, &request)
                .await
                .context("failed to replay subscription")?;
            print_json(&replayed)
        }
        SubscriptionCmd::Deliveries(args) => {
            let Some(state) = client
                .list_subscription_deliveries(
                    &args.subscription,
                    args.status,
                    &args.paging.paging(),
                )
                .await
                .context("failed to list subscription deliveries")?
            else {
                anyhow::bail!("subscription {} not found", args.subscription);
            };
            if args.output.json {
                return print_json(&state);
            }
            println!(
                "Cursor: {}  Last delivery: {} at {}  Next attempt: {}  Dead since: {}",
                state.cursor,
                state.last_delivery_status,
                when(state.last_delivery_attempt_at),
                when(state.next_attempt_at),
                when(state.dead_at),
            );
            print_list(
                &state.deliveries,
                &DELIVERY_HEADERS,
                delivery_row,
                &args.output,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Command, try_parse_from};

    fn create(args: &[&str]) -> CreateArgs {
        let mut all = vec!["cloud", "subscription", "create"];
        all.extend_from_slice(args);
        let Command::Subscription(g) = try_parse_from(all).unwrap().command else {
            panic!("not subscription")
        };
        let SubscriptionCmd::Create(args) = g.command else {
            panic!("not create")
        };
        args
    }

    #[test]
    fn create_defaults_and_threshold_in_nanoseconds() {
        let args = create(&["--url", "http://h", "--owner", "me"]);
        let request = args.request().unwrap();
        assert_eq!(request.event_type, "resourceStateChange");
        assert_eq!(request.failure_threshold, 0);
        assert_eq!(request.name, "");
        let args = create(&[
            "--url",
            "http://h",
            "--owner",
            "me",
            "--failure-threshold",
            "30s",
            "--name",
            "n",
            "--header-from-env",
            "A=B",
        ]);
        let request = args.request().unwrap();
        assert_eq!(request.failure_threshold, 30_000_000_000);
        assert_eq!(request.headers.len(), 1);
    }

    #[test]
    fn replay_and_deliveries_flags() {
        let parsed = try_parse_from([
            "cloud",
            "subscription",
            "replay",
            "--subscription",
            "s1",
            "--from-timestamp",
            "1712745600000",
        ])
        .unwrap();
        let Command::Subscription(g) = parsed.command else {
            panic!("not subscription")
        };
        let SubscriptionCmd::Replay(args) = g.command else {
            panic!("not replay")
        };
        assert_eq!(args.from_timestamp, Some(1_712_745_600_000));
        assert_eq!(args.from_event_id, None);
        let parsed = try_parse_from([
            "cloud",
            "subscription",
            "deliveries",
            "--subscription",
            "s1",
            "--status",
            "retrying",
        ])
        .unwrap();
        let Command::Subscription(g) = parsed.command else {
            panic!("not subscription")
        };
        let SubscriptionCmd::Deliveries(args) = g.command else {
            panic!("not deliveries")
        };
        assert_eq!(args.status, Some(EventDeliveryStatus::Retrying));
        for bad in [
            vec![
                "cloud",
                "subscription",
                "replay",
                "--subscription",
                "s",
                "--from-event-id",
                "e",
                "--from-timestamp",
                "1",
            ],
            vec!["cloud", "subscription", "replay"],
            vec![
                "cloud",
                "subscription",
                "deliveries",
                "--subscription",
                "s",
                "--status",
                "lost",
            ],
        ] {
            assert!(try_parse_from(bad.clone()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn bad_flags_are_refused() {
        for args in [
            vec!["cloud", "subscription", "create", "--owner", "me"],
            vec!["cloud", "subscription", "create", "--url", "http://h"],
            vec![
                "cloud",
                "subscription",
                "create",
                "--url",
                "u",
                "--owner",
                "o",
                "--failure-threshold",
                "soon",
            ],
            vec!["cloud", "subscription", "list", "--event-type", "other"],
            vec!["cloud", "subscription", "get"],
        ] {
            assert!(try_parse_from(args.clone()).is_err(), "{args:?}");
        }
    }
}
