//! `cloud webhook …`: create, get, list and delete legacy webhooks, with
//! the original's flags (original-interfaces §2.6). Custom headers come from
//! `--header KEY=VALUE` (a literal value) and `--header-from-env KEY=VAR`
//! (read from the **server's** environment at send time); unlike the
//! original, `--header` here is not also sent to the API as a request
//! header. `list` prints a table (`ID, OWNER, URL, HTTP HEADERS`) by
//! default and the API's JSON with `--json`.

use crate::args::{Ctx, PagingArgs, parse_key_value};
use crate::output::{OutputArgs, print_json, print_list};
use anyhow::Context as _;
use clap::{Args, Subcommand};
use cloud_model::webhook::{CreateWebhookRequest, Headers, Webhook, WebhookFilter, WebhookHeader};

/// Columns of `webhook list`.
pub const TABLE_HEADERS: [&str; 4] = ["ID", "OWNER", "URL", "HTTP HEADERS"];

#[derive(Debug, Clone, Subcommand)]
pub enum WebhookCmd {
    /// Create a webhook.
    Create(CreateArgs),
    /// Get a particular webhook.
    Get(WebhookArg),
    /// List created webhooks.
    List(ListArgs),
    /// Delete a webhook.
    Delete(WebhookArg),
}

#[derive(Debug, Clone, Args)]
pub struct CreateArgs {
    /// An opaque identifier describing the owner of the webhook.
    #[arg(long)]
    pub owner: String,
    /// The callback URL of the webhook.
    #[arg(long)]
    pub url: String,
    /// A header sent with every delivery, KEY=VALUE (repeatable).
    #[arg(long = "header", value_name = "KEY=VALUE", value_parser = parse_key_value, value_delimiter = ',')]
    pub headers: Vec<(String, String)>,
    /// A header whose value the server reads from its environment, KEY=ENV_VAR (repeatable).
    #[arg(long = "header-from-env", value_name = "KEY=ENV_VAR", value_parser = parse_key_value, value_delimiter = ',')]
    pub headers_from_env: Vec<(String, String)>,
}

/// `--webhook <id>` (required).
#[derive(Debug, Clone, Args)]
pub struct WebhookArg {
    /// The ID of the webhook.
    #[arg(long)]
    pub webhook: String,
}

#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    /// The owner by which to filter webhooks.
    #[arg(long)]
    pub owner: Option<String>,
    #[command(flatten)]
    pub paging: PagingArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// The header list of `--header` and `--header-from-env`, in that order.
pub fn headers_from_flags(values: &[(String, String)], from_env: &[(String, String)]) -> Headers {
    Headers(
        values
            .iter()
            .map(|(k, v)| WebhookHeader::value(k, v))
            .chain(
                from_env
                    .iter()
                    .map(|(k, var)| WebhookHeader::from_env(k, var)),
            )
            .collect(),
    )
}

/// The `HTTP HEADERS` cell: `Key: value` for literal values and
/// `Key: ${VAR}` for values read from the server's environment.
pub fn headers_cell(headers: &Headers) -> String {
    headers
        .iter()
        .map(|h| match (&h.value, &h.value_from_env) {
            (Some(v), _) => format!("{}: {v}", h.key),
            (None, Some(var)) => format!("{}: ${{{var}}}", h.key),
            (None, None) => h.key.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn row(w: &Webhook) -> Vec<String> {
    vec![
        w.id.clone(),
        w.owner_id.clone(),
        w.url.clone(),
        headers_cell(&w.headers),
    ]
}

pub async fn run(cmd: WebhookCmd, ctx: &Ctx) -> anyhow::Result<()> {
    let client = &ctx.client;
    match cmd {
        WebhookCmd::Create(args) => {
            let request = CreateWebhookRequest {
                owner_id: args.owner,
                url: args.url,
                headers: headers_from_flags(&args.headers, &args.headers_from_env),
            };
            let webhook = client
                .create_webhook(&request)
                .await
                .context("failed to create webhook")?;
            print_json(&webhook)
        }
        WebhookCmd::Get(args) => match client
            .get_webhook(&args.webhook)
            .await
            .context("failed to query webhook")?
        {
            Some(webhook) => print_json(&webhook),
            None => Ok(()),
        },
        WebhookCmd::List(args) => {
            let filter = WebhookFilter {
                paging: args.paging.paging(),
                owner_id: args.owner,
            };
            let webhooks = client
                .get_webhooks(&filter)
                .await
                .context("failed to query webhooks")?;
            print_list(&webhooks, &TABLE_HEADERS, row, &args.output)
        }
        WebhookCmd::Delete(args) => client
            .delete_webhook(&args.webhook)
            .await
            .context("failed to delete webhook"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Command, try_parse_from};

    #[test]
    fn create_takes_literal_and_environment_headers() {
        let cli = try_parse_from([
            "cloud",
            "webhook",
            "create",
            "--owner",
            "me",
            "--url",
            "http://h",
            "--header",
            "X-A=1",
            "--header",
            "X-B=2=3",
            "--header-from-env",
            "Auth=TOKEN",
        ])
        .unwrap();
        let Command::Webhook(g) = cli.command else {
            panic!("not webhook")
        };
        let WebhookCmd::Create(args) = g.command else {
            panic!("not create")
        };
        let headers = headers_from_flags(&args.headers, &args.headers_from_env);
        assert_eq!(
            headers.0,
            vec![
                WebhookHeader::value("X-A", "1"),
                WebhookHeader::value("X-B", "2=3"),
                WebhookHeader::from_env("Auth", "TOKEN"),
            ]
        );
        assert_eq!(headers_cell(&headers), "X-A: 1, X-B: 2=3, Auth: ${TOKEN}");
    }

    #[test]
    fn owner_and_url_are_required() {
        assert!(try_parse_from(["cloud", "webhook", "create", "--owner", "me"]).is_err());
        assert!(try_parse_from(["cloud", "webhook", "create", "--url", "http://h"]).is_err());
        assert!(try_parse_from(["cloud", "webhook", "get"]).is_err());
        assert!(
            try_parse_from([
                "cloud", "webhook", "create", "--owner", "o", "--url", "u", "--header", "novalue"
            ])
            .is_err()
        );
    }
}
