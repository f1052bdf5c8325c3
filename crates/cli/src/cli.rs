//! The command tree of `cloud` and its dispatch.
//!
//! Two rules of the original apply to every flag of every command, so they
//! are added here to the whole tree instead of to each flag ([`command`]):
//! - each flag can come from the environment as `CP_<FLAG_NAME>` (upper
//!   case, `-` → `_`), as viper's `AutomaticEnv` with prefix `CP` does; a
//!   flag given on the command line wins;
//! - boolean flags take an optional value, `--flag`, `--flag=true`,
//!   `--flag=false` (pflag syntax), so a default-true flag can be turned off.
//!
//! Resource commands live in `cmd/<resource>.rs`; this file only wires them.

use crate::args::{ClientArgs, ServerOnlyArgs};
use crate::cmd;
use crate::schema::SchemaArgs;
use crate::server::ServerArgs;
use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args, CommandFactory, FromArgMatches, Parser, Subcommand};

/// Manages Mattermost Cloud: runs the provisioning server and talks to its API.
#[derive(Debug, Parser)]
#[command(name = "cloud", version, about, propagate_version = true)]
pub struct Cli {
    /// Skip confirmation prompts (accepted for compatibility; nothing prompts).
    #[arg(short = 'y', long = "y", global = true, hide = true)]
    pub yes: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the provisioning server.
    Server(Box<ServerArgs>),
    /// Manage the database schema.
    Schema(SchemaArgs),
    /// Manage and view clusters.
    Cluster(Group<cmd::cluster::ClusterCmd>),
    /// Manage and view installations.
    Installation(Group<cmd::installation::InstallationCmd>),
    /// Manage and view installation groups.
    Group(Group<cmd::group::GroupCmd>),
    /// Manage webhooks.
    Webhook(ServerGroup<cmd::webhook::WebhookCmd>),
    /// Manage event subscriptions.
    Subscription(ServerGroup<cmd::subscription::SubscriptionCmd>),
    /// View state-change events.
    #[command(alias = "events")]
    Event(Group<cmd::event::EventCmd>),
    /// Manage and view multitenant, logical databases and schemas.
    Database(Group<cmd::database::DatabaseCmd>),
    /// Lock and unlock objects against API changes or deletion.
    Security(Group<cmd::security::SecurityCmd>),
    /// Print a shell completion script.
    Completion {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// A resource group: the shared client flags and its subcommand.
#[derive(Debug, Args)]
pub struct Group<C: Subcommand> {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(subcommand)]
    pub command: C,
}

/// A resource group that shares only `--server` (see [`ServerOnlyArgs`]).
#[derive(Debug, Args)]
pub struct ServerGroup<C: Subcommand> {
    #[command(flatten)]
    pub client: ServerOnlyArgs,
    #[command(subcommand)]
    pub command: C,
}

/// The clap command with the environment and boolean rules applied.
pub fn command() -> clap::Command {
    go_style(Cli::command())
}

/// Parses the process arguments (exits with clap's message on error).
pub fn parse() -> Cli {
    parse_from(std::env::args_os())
}

/// Parses `args` (the first is the program name).
pub fn parse_from<I, T>(args: I) -> Cli
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let matches = command().get_matches_from(args);
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// Like [`parse_from`], returning clap's error instead of exiting.
pub fn try_parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let matches = command().try_get_matches_from(args)?;
    Cli::from_arg_matches(&matches)
}

/// Applies the `CP_*` and boolean rules to `cmd` and all its subcommands.
fn go_style(cmd: clap::Command) -> clap::Command {
    let cmd = cmd.mut_args(|arg| {
        let mut arg = arg;
        if let Some(long) = arg.get_long().map(str::to_string)
            && arg.get_env().is_none()
            && !matches!(arg.get_action(), ArgAction::Help | ArgAction::Version)
        {
            arg = arg.env(env_name(&long));
        }
        if matches!(arg.get_action(), ArgAction::SetTrue) {
            let default_true = arg.get_default_values().iter().any(|v| v == "true");
            arg = arg
                .action(ArgAction::Set)
                .num_args(0..=1)
                .require_equals(true)
                .default_missing_value("true")
                .value_parser(BoolishValueParser::new())
                .value_name("true|false")
                .hide_possible_values(true);
            arg = if default_true {
                arg.default_value("true")
            } else {
                // "[default: false]" on every switch is noise.
                arg.default_value("false").hide_default_value(true)
            };
        }
        arg
    });
    // Long flag names squeeze the help column: put help on its own line.
    let long_flags = cmd
        .get_arguments()
        .any(|a| a.get_long().is_some_and(|l| l.len() > 24));
    let cmd = if long_flags {
        cmd.next_line_help(true)
    } else {
        cmd
    };
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    names
        .into_iter()
        .fold(cmd, |cmd, name| cmd.mut_subcommand(name, go_style))
}

/// `CP_<FLAG>` for `--flag-name`.
pub fn env_name(long: &str) -> String {
    format!("CP_{}", long.to_ascii_uppercase().replace('-', "_"))
}

/// Runs the parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    if !matches!(cli.command, Command::Server(_)) {
        init_client_logging();
    }
    match cli.command {
        Command::Server(args) => crate::server::run(*args).await,
        Command::Schema(args) => crate::schema::run(args).await,
        Command::Cluster(g) => cmd::cluster::run(g.command, &g.client.ctx()?).await,
        Command::Installation(g) => cmd::installation::run(g.command, &g.client.ctx()?).await,
        Command::Group(g) => cmd::group::run(g.command, &g.client.ctx()?).await,
        Command::Webhook(g) => cmd::webhook::run(g.command, &g.client.ctx()?).await,
        Command::Subscription(g) => cmd::subscription::run(g.command, &g.client.ctx()?).await,
        Command::Event(g) => cmd::event::run(g.command, &g.client.ctx()?).await,
        Command::Database(g) => cmd::database::run(g.command, &g.client.ctx()?).await,
        Command::Security(g) => cmd::security::run(g.command, &g.client.ctx()?).await,
        Command::Completion { shell } => {
            clap_complete::generate(shell, &mut command(), "cloud", &mut std::io::stdout());
            Ok(())
        }
    }
}

/// Client commands log warnings and errors to stderr (stdout is for output).
fn init_client_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_tree_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn env_names_follow_viper() {
        assert_eq!(env_name("per-page"), "CP_PER_PAGE");
        assert_eq!(env_name("database"), "CP_DATABASE");
    }

    #[test]
    fn booleans_take_go_syntax() {
        let cli =
            try_parse_from(["cloud", "server", "--cluster-supervisor=false", "--debug"]).unwrap();
        let Command::Server(args) = cli.command else {
            panic!("not server")
        };
        assert!(!args.cluster_supervisor);
        assert!(args.installation_supervisor);
        assert!(args.debug);
        assert!(!args.dev);
        // pflag requires `=` for a boolean's value.
        assert!(try_parse_from(["cloud", "server", "--debug", "false"]).is_err());
    }

    #[test]
    fn client_flags_go_before_or_after_the_subcommand() {
        let cli = try_parse_from([
            "cloud",
            "cluster",
            "--server",
            "http://a:1",
            "list",
            "--header",
            "X-A=1",
            "--dry-run",
        ])
        .unwrap();
        let Command::Cluster(g) = cli.command else {
            panic!("not cluster")
        };
        assert_eq!(g.client.server, "http://a:1");
        assert_eq!(g.client.headers, vec![("X-A".to_string(), "1".to_string())]);
        assert!(g.client.dry_run);
    }

    #[test]
    fn a_boolean_before_the_subcommand_does_not_eat_it() {
        let cli = try_parse_from(["cloud", "cluster", "--dry-run", "list"]).unwrap();
        let Command::Cluster(g) = cli.command else {
            panic!("not cluster")
        };
        assert!(g.client.dry_run);
        let cli = try_parse_from(["cloud", "cluster", "--dry-run=false", "list"]).unwrap();
        let Command::Cluster(g) = cli.command else {
            panic!("not cluster")
        };
        assert!(!g.client.dry_run);
    }

    #[test]
    fn events_is_an_alias_of_event() {
        assert!(matches!(
            try_parse_from(["cloud", "events", "state-change", "list"])
                .unwrap()
                .command,
            Command::Event(_)
        ));
    }

    #[test]
    fn durations_and_lists_parse() {
        let cli = try_parse_from([
            "cloud",
            "server",
            "--installation-deletion-pending-time=1h30m",
            "--allow-list-cidr-range=10.0.0.0/8,192.168.0.0/16",
        ])
        .unwrap();
        let Command::Server(args) = cli.command else {
            panic!("not server")
        };
        assert_eq!(args.installation_deletion_pending_time.as_secs(), 5400);
        assert_eq!(args.allow_list_cidr_range.len(), 2);
        assert_eq!(args.unsupported_flags_set(), vec!["allow-list-cidr-range"]);
    }

    #[test]
    fn server_defaults_match_the_original() {
        let Command::Server(args) = try_parse_from(["cloud", "server"]).unwrap().command else {
            panic!("not server")
        };
        assert_eq!(args.listen, ":8075");
        assert_eq!(args.metrics_port, 8076);
        assert_eq!(args.database, "sqlite://cloud.db");
        assert_eq!(args.poll, 30);
        assert_eq!(args.slow_poll, 60);
        assert_eq!(args.installation_deletion_pending_time.as_secs(), 180);
        assert_eq!(args.default_max_schemas_per_logical_database, 10);
        assert!(
            args.unsupported_flags_set().is_empty(),
            "{:?}",
            args.unsupported_flags_set()
        );
        let s = args.supervisors();
        assert!(s.cluster && s.installation && s.installation_deletion && s.cluster_installation);
        assert!(!s.group && !s.backup && !s.import && !s.db_restoration && !s.db_migration);
    }
}
