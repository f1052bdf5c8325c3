//! `cloud group …`: create, update, delete, get, list, status, statuses,
//! join, assign, leave and annotations, with the original's flags
//! (original-interfaces §2.6).
//!
//! Mutations print what the API returns as JSON (`--dry-run` prints the
//! request instead); `list` prints a table (`ID, NAME, SEQ, ROL, IMAGE,
//! VERSION, ENV?`) by default and the API's JSON with `--json`. `get` and
//! `status` of an unknown group print nothing, as in the original.

use crate::args::{Ctx, PagingArgs};
use crate::output::{OutputArgs, print_json, print_list};
use anyhow::Context as _;
use clap::{Args, Subcommand};
use cloud_client::groups::GetGroupsRequest;
use cloud_model::annotation::AddAnnotationsRequest;
use cloud_model::env::{EnvVarMap, parse_env_assignments};
use cloud_model::group::{
    AssignInstallationGroupRequest, CreateGroupRequest, GroupDto, LeaveGroupRequest,
    PatchGroupRequest, Scheduling,
};

#[derive(Debug, Clone, Subcommand)]
pub enum GroupCmd {
    /// Create a group.
    #[command(disable_version_flag = true)]
    Create(CreateArgs),
    /// Update the group metadata.
    #[command(disable_version_flag = true)]
    Update(UpdateArgs),
    /// Delete a group.
    Delete(GroupArg),
    /// Get a particular group.
    Get(GroupArg),
    /// List created groups.
    List(ListArgs),
    /// Get a particular group's status.
    Status(GroupArg),
    /// Get the status of all groups.
    Statuses,
    /// Join an installation to the given group, leaving any existing group.
    Join(JoinArgs),
    /// Assign an installation to a group chosen by annotations, leaving any existing group.
    Assign(AssignArgs),
    /// Remove an installation from its group, if any.
    Leave(LeaveArgs),
    /// Manage a group's annotations.
    #[command(subcommand)]
    Annotation(AnnotationCmd),
}

/// `--group <id>` (required).
#[derive(Debug, Clone, Args)]
pub struct GroupArg {
    /// The ID of the group.
    #[arg(long)]
    pub group: String,
}

#[derive(Debug, Clone, Args)]
pub struct CreateArgs {
    /// The name of the group.
    #[arg(long)]
    pub name: String,
    /// A description of the group.
    #[arg(long, default_value = "")]
    pub description: String,
    /// The Mattermost version the group's installations run (empty: their own).
    #[arg(long, default_value = "")]
    pub version: String,
    /// The Mattermost container image the group's installations run (empty: their own).
    #[arg(long, default_value = "")]
    pub image: String,
    /// The maximum number of installations updated at once (0 pauses rollouts).
    #[arg(long, default_value_t = 1, allow_negative_numbers = true)]
    pub max_rolling: i64,
    /// An environment variable of the group's installations, KEY=VALUE (repeatable).
    #[arg(long = "mattermost-env", value_name = "KEY=VALUE")]
    pub mattermost_env: Vec<String>,
    /// Scheduling of the group's pods, as JSON: {"NodeSelector":{...},"Tolerations":[...]}.
    #[arg(long, value_name = "JSON")]
    pub scheduling: Option<String>,
    /// An annotation of the group (repeatable).
    #[arg(long = "annotation")]
    pub annotations: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct UpdateArgs {
    /// The ID of the group to update.
    #[arg(long)]
    pub group: String,
    /// A new name (sent only when given).
    #[arg(long)]
    pub name: Option<String>,
    /// A new description (sent only when given).
    #[arg(long)]
    pub description: Option<String>,
    /// A new Mattermost version (sent only when given).
    #[arg(long)]
    pub version: Option<String>,
    /// A new container image (sent only when given).
    #[arg(long)]
    pub image: Option<String>,
    /// A new maximum number of installations updated at once (sent only when given).
    #[arg(long, allow_negative_numbers = true)]
    pub max_rolling: Option<i64>,
    /// New scheduling as JSON (sent only when given; `{}` clears it).
    #[arg(long, value_name = "JSON")]
    pub scheduling: Option<String>,
    /// An environment variable to set, KEY=VALUE; KEY= removes it (repeatable).
    #[arg(long = "mattermost-env", value_name = "KEY=VALUE")]
    pub mattermost_env: Vec<String>,
    /// Remove every environment variable of the group.
    #[arg(long)]
    pub mattermost_env_clear: bool,
    /// Bump the group's sequence even if nothing changed, so every member is reconciled.
    #[arg(long)]
    pub force_sequence_update: bool,
    /// Restart every member's pods, even if nothing changed.
    #[arg(long)]
    pub force_installation_restart: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub paging: PagingArgs,
    /// Ask for each group's number of installations (adds an INSTALLATIONS column).
    #[arg(long)]
    pub include_installation_count: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Clone, Args)]
pub struct JoinArgs {
    /// The ID of the group to join.
    #[arg(long)]
    pub group: String,
    /// The ID of the installation joining the group.
    #[arg(long)]
    pub installation: String,
}

#[derive(Debug, Clone, Args)]
pub struct AssignArgs {
    /// The ID of the installation to assign.
    #[arg(long)]
    pub installation: String,
    /// An annotation the group must carry (repeatable, at least one).
    #[arg(long = "group-selection-annotation", required = true)]
    pub annotations: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct LeaveArgs {
    /// The ID of the installation leaving its group.
    #[arg(long)]
    pub installation: String,
    /// Keep the group's version, image and environment on the installation.
    #[arg(long, default_value_t = true)]
    pub retain_config: bool,
}

#[derive(Debug, Clone, Subcommand)]
pub enum AnnotationCmd {
    /// Add annotations to a group.
    Add(AnnotationAddArgs),
    /// Remove an annotation from a group.
    Delete(AnnotationDeleteArgs),
}

#[derive(Debug, Clone, Args)]
pub struct AnnotationAddArgs {
    /// The ID of the group.
    #[arg(long)]
    pub group: String,
    /// An annotation to add (repeatable).
    #[arg(long = "annotation", required = true)]
    pub annotations: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct AnnotationDeleteArgs {
    /// The ID of the group.
    #[arg(long)]
    pub group: String,
    /// The annotation to remove.
    #[arg(long)]
    pub annotation: String,
}

/// Columns of `group list`.
pub const TABLE_HEADERS: [&str; 7] = ["ID", "NAME", "SEQ", "ROL", "IMAGE", "VERSION", "ENV?"];

pub async fn run(cmd: GroupCmd, ctx: &Ctx) -> anyhow::Result<()> {
    let client = &ctx.client;
    match cmd {
        GroupCmd::Create(args) => {
            let request = create_request(&args)?;
            if ctx.dry_run(&request)? {
                return Ok(());
            }
            let group = client
                .create_group(&request)
                .await
                .context("failed to create group")?;
            print_json(&group)
        }
        GroupCmd::Update(args) => {
            let request = update_request(&args)?;
            if ctx.dry_run(&request)? {
                return Ok(());
            }
            let group = client
                .update_group(&request)
                .await
                .context("failed to update group")?;
            print_json(&group)
        }
        GroupCmd::Delete(args) => client
            .delete_group(&args.group)
            .await
            .context("failed to delete group"),
        GroupCmd::Get(args) => {
            match client
                .get_group(&args.group)
                .await
                .context("failed to query group")?
            {
                Some(group) => print_json(&group),
                None => Ok(()),
            }
        }
        GroupCmd::List(args) => {
            let request = GetGroupsRequest {
                paging: args.paging.paging(),
                with_installation_count: args.include_installation_count,
            };
            let groups = client
                .get_groups(&request)
                .await
                .context("failed to query groups")?;
            let mut headers = TABLE_HEADERS.to_vec();
            if args.include_installation_count {
                headers.push("INSTALLATIONS");
            }
            print_list(
                &groups,
                &headers,
                |g| table_row(g, args.include_installation_count),
                &args.output,
            )
        }
        GroupCmd::Status(args) => {
            match client
                .get_group_status(&args.group)
                .await
                .context("failed to query group status")?
            {
                Some(status) => print_json(&status),
                None => Ok(()),
            }
        }
        GroupCmd::Statuses => {
            let statuses = client
                .get_groups_status()
                .await
                .context("failed to query group status")?;
            print_json(&statuses)
        }
        GroupCmd::Join(args) => client
            .join_group(&args.group, &args.installation)
            .await
            .context("failed to join group"),
        GroupCmd::Assign(args) => {
            let request = AssignInstallationGroupRequest {
                group_selection_annotations: args.annotations,
            };
            if ctx.dry_run(&request)? {
                return Ok(());
            }
            client
                .assign_group(&args.installation, &request)
                .await
                .context("failed to assign group")
        }
        GroupCmd::Leave(args) => client
            .leave_group(
                &args.installation,
                &LeaveGroupRequest {
                    retain_config: args.retain_config,
                },
            )
            .await
            .context("failed to leave group"),
        GroupCmd::Annotation(AnnotationCmd::Add(args)) => {
            let request = AddAnnotationsRequest {
                annotations: args.annotations,
            };
            if ctx.dry_run(&request)? {
                return Ok(());
            }
            let group = client
                .add_group_annotations(&args.group, &request)
                .await
                .context("failed to add group annotations")?;
            print_json(&group)
        }
        GroupCmd::Annotation(AnnotationCmd::Delete(args)) => client
            .delete_group_annotation(&args.group, &args.annotation)
            .await
            .context("failed to delete group annotation"),
    }
}

/// The create request the flags describe.
pub fn create_request(args: &CreateArgs) -> anyhow::Result<CreateGroupRequest> {
    let env = parse_env_assignments("mattermost-env", &args.mattermost_env)?;
    Ok(CreateGroupRequest {
        name: args.name.clone(),
        description: args.description.clone(),
        version: args.version.clone(),
        image: args.image.clone(),
        max_rolling: args.max_rolling,
        api_security_lock: false,
        mattermost_env: (!env.is_empty()).then_some(env),
        scheduling: args
            .scheduling
            .as_deref()
            .map(parse_scheduling)
            .transpose()?,
        annotations: args.annotations.clone(),
    })
}

/// The patch the flags describe: only the given values are sent.
pub fn update_request(args: &UpdateArgs) -> anyhow::Result<PatchGroupRequest> {
    Ok(PatchGroupRequest {
        id: args.group.clone(),
        max_rolling: args.max_rolling,
        name: args.name.clone(),
        description: args.description.clone(),
        version: args.version.clone(),
        image: args.image.clone(),
        mattermost_env: env_patch(&args.mattermost_env, args.mattermost_env_clear)?,
        scheduling: args
            .scheduling
            .as_deref()
            .map(parse_scheduling)
            .transpose()?,
        force_sequence_update: args.force_sequence_update,
        force_installations_restart: args.force_installation_restart,
    })
}

/// `--mattermost-env` / `--mattermost-env-clear` as a patch: nothing, the
/// given variables, or an empty map (which clears them all).
fn env_patch(items: &[String], clear: bool) -> anyhow::Result<Option<EnvVarMap>> {
    if clear && !items.is_empty() {
        anyhow::bail!(
            "--mattermost-env and --mattermost-env-clear cannot be used together; choose one"
        );
    }
    if clear {
        return Ok(Some(EnvVarMap::new()));
    }
    let env = parse_env_assignments("mattermost-env", items)?;
    Ok((!env.is_empty()).then_some(env))
}

/// `--scheduling` JSON.
fn parse_scheduling(text: &str) -> anyhow::Result<Scheduling> {
    let scheduling: Scheduling = serde_json::from_str(text).with_context(|| {
        format!("--scheduling must be JSON such as {{\"NodeSelector\":{{\"pool\":\"mm\"}},\"Tolerations\":[]}}; got {text:?}")
    })?;
    scheduling.validate("scheduling")?;
    Ok(scheduling)
}

/// One `group list` row.
pub fn table_row(group: &GroupDto, with_count: bool) -> Vec<String> {
    let g = &group.group;
    let has_env = if g.mattermost_env.as_ref().is_some_and(|e| !e.is_empty()) {
        "yes"
    } else {
        "no"
    };
    let mut row = vec![
        g.id.clone(),
        g.name.clone(),
        g.sequence.to_string(),
        g.max_rolling.to_string(),
        g.image.clone(),
        g.version.clone(),
        has_env.to_string(),
    ];
    if with_count {
        row.push(group.installation_count.unwrap_or(0).to_string());
    }
    row
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Command, try_parse_from};
    use cloud_model::env::EnvVar;

    fn group_cmd(args: &[&str]) -> GroupCmd {
        let mut argv = vec!["cloud", "group"];
        argv.extend_from_slice(args);
        match try_parse_from(argv).unwrap().command {
            Command::Group(g) => g.command,
            other => panic!("not a group command: {other:?}"),
        }
    }

    #[test]
    fn create_flags_build_the_request() {
        let GroupCmd::Create(args) = group_cmd(&[
            "create",
            "--name",
            "g1",
            "--version",
            "9.5.0",
            "--mattermost-env",
            "A=1",
            "--mattermost-env",
            "B=x=y",
            "--annotation",
            "prod",
            "--scheduling",
            r#"{"NodeSelector":{"pool":"mm"}}"#,
        ]) else {
            panic!("not create")
        };
        let request = create_request(&args).unwrap();
        assert_eq!(request.name, "g1");
        assert_eq!(request.max_rolling, 1);
        assert_eq!(request.annotations, vec!["prod".to_string()]);
        let env = request.mattermost_env.unwrap();
        assert_eq!(env["B"], EnvVar::value("x=y"));
        assert_eq!(request.scheduling.unwrap().node_selector["pool"], "mm");

        let GroupCmd::Create(bare) = group_cmd(&["create", "--name", "g"]) else {
            panic!("not create")
        };
        let request = create_request(&bare).unwrap();
        assert!(request.mattermost_env.is_none());
        assert!(request.scheduling.is_none());
        assert!(try_parse_from(["cloud", "group", "create"]).is_err());
    }

    #[test]
    fn bad_scheduling_and_env_are_refused() {
        let GroupCmd::Create(args) = group_cmd(&["create", "--name", "g", "--scheduling", "{nope"])
        else {
            panic!("not create")
        };
        assert!(create_request(&args).is_err());
        let GroupCmd::Create(args) = group_cmd(&[
            "create",
            "--name",
            "g",
            "--scheduling",
            r#"{"Tolerations":[{"effect":"Never"}]}"#,
        ]) else {
            panic!("not create")
        };
        assert!(create_request(&args).is_err());
        let GroupCmd::Create(args) =
            group_cmd(&["create", "--name", "g", "--mattermost-env", "NOEQUALS"])
        else {
            panic!("not create")
        };
        assert!(create_request(&args).is_err());
    }

    #[test]
    fn update_sends_only_what_was_given() {
        let GroupCmd::Update(args) = group_cmd(&["update", "--group", "g1"]) else {
            panic!("not update")
        };
        let request = update_request(&args).unwrap();
        assert_eq!(
            request,
            PatchGroupRequest {
                id: "g1".into(),
                ..Default::default()
            }
        );

        let GroupCmd::Update(args) = group_cmd(&[
            "update",
            "--group",
            "g1",
            "--max-rolling",
            "0",
            "--version",
            "",
            "--mattermost-env",
            "A=",
            "--force-sequence-update",
            "--force-installation-restart=true",
        ]) else {
            panic!("not update")
        };
        let request = update_request(&args).unwrap();
        assert_eq!(request.max_rolling, Some(0));
        assert_eq!(request.version.as_deref(), Some(""));
        assert!(request.name.is_none());
        assert!(!request.mattermost_env.unwrap()["A"].has_value());
        assert!(request.force_sequence_update && request.force_installations_restart);

        let GroupCmd::Update(clear) =
            group_cmd(&["update", "--group", "g1", "--mattermost-env-clear"])
        else {
            panic!("not update")
        };
        assert_eq!(
            update_request(&clear).unwrap().mattermost_env,
            Some(EnvVarMap::new())
        );
        let GroupCmd::Update(both) = group_cmd(&[
            "update",
            "--group",
            "g1",
            "--mattermost-env-clear",
            "--mattermost-env",
            "A=1",
        ]) else {
            panic!("not update")
        };
        assert!(update_request(&both).is_err());
    }

    #[test]
    fn leave_retains_config_unless_told_not_to() {
        let GroupCmd::Leave(args) = group_cmd(&["leave", "--installation", "i1"]) else {
            panic!("not leave")
        };
        assert!(args.retain_config);
        let GroupCmd::Leave(args) =
            group_cmd(&["leave", "--installation", "i1", "--retain-config=false"])
        else {
            panic!("not leave")
        };
        assert!(!args.retain_config);
        assert!(try_parse_from(["cloud", "group", "assign", "--installation", "i1"]).is_err());
    }

    #[test]
    fn list_rows_follow_the_original_columns() {
        let mut dto = GroupDto::default();
        dto.group.id = "id1".into();
        dto.group.name = "n".into();
        dto.group.sequence = 3;
        dto.group.max_rolling = 2;
        dto.group.image = "img".into();
        dto.group.version = "v".into();
        assert_eq!(
            table_row(&dto, false),
            ["id1", "n", "3", "2", "img", "v", "no"]
        );
        dto.group.mattermost_env = Some([("A".to_string(), EnvVar::value("1"))].into());
        dto.installation_count = Some(5);
        assert_eq!(
            table_row(&dto, true),
            ["id1", "n", "3", "2", "img", "v", "yes", "5"]
        );
        let GroupCmd::List(args) = group_cmd(&[
            "list",
            "--include-installation-count",
            "--json",
            "--per-page=-1",
        ]) else {
            panic!("not list")
        };
        assert!(args.output.json && args.include_installation_count);
        assert_eq!(args.paging.per_page, -1);
    }

    #[test]
    fn annotation_commands_parse() {
        let GroupCmd::Annotation(AnnotationCmd::Add(add)) = group_cmd(&[
            "annotation",
            "add",
            "--group",
            "g",
            "--annotation",
            "a1",
            "--annotation",
            "a2",
        ]) else {
            panic!("not annotation add")
        };
        assert_eq!(add.annotations.len(), 2);
        let GroupCmd::Annotation(AnnotationCmd::Delete(del)) =
            group_cmd(&["annotation", "delete", "--group", "g", "--annotation", "a1"])
        else {
            panic!("not annotation delete")
        };
        assert_eq!(del.annotation, "a1");
    }
}
