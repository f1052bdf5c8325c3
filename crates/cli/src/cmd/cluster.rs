//! `cloud cluster …`: create, import, get, list, provision, update, upgrade,
//! resize, node groups, delete, utilities, the size dictionary, the state
//! report and annotations, with the original's flags; `cloud cluster
//! installation …` is wired from `cluster_installation.rs`.
//!
//! Mutations print the cluster the API returns as JSON (`--dry-run` prints
//! the request instead); `list` prints a table by default and the API's
//! JSON with `--json`.

mod flags;

use crate::args::{Ctx, PagingArgs, parse_key_value};
use crate::output::{OutputArgs, print_json, print_list};
use anyhow::Context as _;
use clap::{Args, Subcommand};
use cloud_model::annotation::AddAnnotationsRequest;
use cloud_model::cluster::{ClusterDto, Provisioner, cluster_request_state_report};
use cloud_model::cluster_request::{
    CreateClusterRequest, CreateNodegroupsRequest, ImportClusterRequest, PatchClusterSizeRequest,
    PatchUpgradeClusterRequest, ProvisionClusterRequest, UpdateClusterRequest,
};
use cloud_model::cluster_size;
use flags::{PgBouncerFlags, RotatorFlags, UtilityFlags};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Subcommand)]
pub enum ClusterCmd {
    /// Create a cluster (or retry the creation of one with --cluster).
    #[command(disable_version_flag = true)]
    Create(Box<CreateArgs>),
    /// Import an externally managed cluster.
    Import(ImportArgs),
    /// Get a particular cluster.
    Get(ClusterArg),
    /// List created clusters.
    List(ListArgs),
    /// Provision or re-provision a cluster's Kubernetes resources and utilities.
    Provision(Box<ProvisionArgs>),
    /// Update a cluster's configuration.
    Update(UpdateArgs),
    /// Upgrade Kubernetes on a cluster.
    #[command(disable_version_flag = true)]
    Upgrade(UpgradeArgs),
    /// Resize a cluster's nodes.
    Resize(ResizeArgs),
    /// Manage the node groups of an EKS cluster.
    #[command(subcommand)]
    Nodegroup(NodegroupCmd),
    /// Delete a cluster.
    Delete(ClusterArg),
    /// Show the versions of the utilities of a cluster.
    Utilities(ClusterArg),
    /// Show the predefined cluster sizes.
    Dictionary,
    /// Show which states each cluster request can be made from.
    StateReport,
    /// Manage a cluster's annotations.
    #[command(subcommand)]
    Annotation(AnnotationCmd),
    /// Manage and view cluster installations.
    #[command(subcommand)]
    Installation(super::cluster_installation::ClusterInstallationCmd),
}

/// `--cluster <id>` (required).
#[derive(Debug, Clone, Args)]
pub struct ClusterArg {
    /// The ID of the cluster.
    #[arg(long)]
    pub cluster: String,
}

#[derive(Debug, Clone, Args)]
pub struct CreateArgs {
    /// Cloud provider hosting the cluster.
    #[arg(long, default_value = "aws")]
    pub provider: String,
    /// The Kubernetes version to target: 'latest' or a version such as 1.28.4.
    #[arg(long, default_value = "latest")]
    pub version: String,
    /// The AMI of the cluster hosts (empty for the provisioner's default).
    #[arg(long, default_value = "")]
    pub ami: String,
    /// The zones of the cluster, comma-separated.
    #[arg(long, default_value = "us-east-1a")]
    pub zones: String,
    /// Whether new installations may be scheduled on the cluster.
    #[arg(long, default_value_t = true)]
    pub allow_installations: bool,
    /// An annotation of the cluster (repeatable).
    #[arg(long = "annotation")]
    pub annotations: Vec<String>,
    /// The networking (CNI): calico, amazon-vpc-routed-eni, amazonvpc, weave or canal.
    #[arg(long, default_value = "calico")]
    pub networking: String,
    /// A VPC to claim for the cluster (empty: any available one).
    #[arg(long, default_value = "")]
    pub vpc: String,
    /// The cluster IAM role ARN (EKS).
    #[arg(long, default_value = "")]
    pub cluster_role_arn: String,
    /// The node IAM role ARN (EKS).
    #[arg(long, default_value = "")]
    pub node_role_arn: String,
    /// Create the cluster with the EKS provisioner instead of kops.
    #[arg(long)]
    pub eks: bool,
    /// Additional EKS node groups as name=size, e.g. spot=SizeAlef1000.
    #[arg(long, value_parser = parse_key_value, value_delimiter = ',', value_name = "NAME=SIZE")]
    pub additional_nodegroups: Vec<(String, String)>,
    /// Node groups to place in public subnets.
    #[arg(long, value_delimiter = ',')]
    pub nodegroups_with_public_subnet: Vec<String>,
    /// Node groups that get a security group.
    #[arg(long, value_delimiter = ',')]
    pub nodegroups_with_sg: Vec<String>,
    /// The size preset (see `cloud cluster dictionary`).
    #[arg(long, default_value = cluster_size::DEFAULT_CLUSTER_SIZE)]
    pub size: String,
    /// The master instance type; overrides the size.
    #[arg(long, default_value = "")]
    pub size_master_instance_type: String,
    /// The number of masters; overrides the size.
    #[arg(long, default_value_t = 0)]
    pub size_master_count: i64,
    /// The worker instance type; overrides the size.
    #[arg(long, default_value = "")]
    pub size_node_instance_type: String,
    /// The number of workers (min = max); overrides the size.
    #[arg(long, default_value_t = 0)]
    pub size_node_count: i64,
    /// The maximum number of pods per node (0: the server's default of 200).
    #[arg(long, default_value_t = 0)]
    pub max_pods_per_node: i64,
    #[command(flatten)]
    pub utilities: UtilityFlags,
    #[command(flatten)]
    pub pgbouncer: PgBouncerFlags,
    /// Retry the creation of this cluster instead (all other flags are ignored).
    #[arg(long, default_value = "")]
    pub cluster: String,
}

#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// The AWS Secrets Manager secret holding the cluster's kubeconfig.
    #[arg(long)]
    pub secret_name: String,
    /// The VPC of the cluster, if it has AWS infrastructure.
    #[arg(long, default_value = "")]
    pub vpc_id: String,
    /// Whether new installations may be scheduled on the cluster.
    #[arg(long, default_value_t = true)]
    pub allow_installations: bool,
    /// An annotation of the cluster (repeatable).
    #[arg(long = "annotation")]
    pub annotations: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub paging: PagingArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Add a TAG column with the cluster's annotations.
    #[arg(long)]
    pub show_tags: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ProvisionArgs {
    /// The ID of the cluster.
    #[arg(long)]
    pub cluster: String,
    /// Reinstall every utility at its current version.
    #[arg(long)]
    pub reprovision_all_utilities: bool,
    #[command(flatten)]
    pub utilities: UtilityFlags,
    #[command(flatten)]
    pub pgbouncer: PgBouncerFlags,
}

#[derive(Debug, Clone, Args)]
pub struct UpdateArgs {
    /// The ID of the cluster.
    #[arg(long)]
    pub cluster: String,
    /// A new display name.
    #[arg(long)]
    pub name: Option<String>,
    /// Whether new installations may be scheduled on the cluster (sent only when given).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true",
          value_parser = clap::builder::BoolishValueParser::new())]
    pub allow_installations: Option<bool>,
}

#[derive(Debug, Clone, Args)]
pub struct UpgradeArgs {
    /// The ID of the cluster.
    #[arg(long)]
    pub cluster: String,
    /// The Kubernetes version to target: 'latest' or a version such as 1.28.4.
    #[arg(long)]
    pub version: Option<String>,
    /// The AMI of the cluster hosts.
    #[arg(long)]
    pub ami: Option<String>,
    /// The maximum number of pods per node.
    #[arg(long)]
    pub max_pods_per_node: Option<i64>,
    /// The KMS key (ARN) encrypting the nodes' root volumes.
    #[arg(long)]
    pub kms_key_id: Option<String>,
    #[command(flatten)]
    pub rotator: RotatorFlags,
}

#[derive(Debug, Clone, Args)]
pub struct ResizeArgs {
    /// The ID of the cluster.
    #[arg(long)]
    pub cluster: String,
    /// A size preset for the workers (see `cloud cluster dictionary`).
    #[arg(long, default_value = "")]
    pub size: String,
    /// The worker instance type; overrides the size.
    #[arg(long, default_value = "")]
    pub size_node_instance_type: String,
    /// The minimum number of workers; overrides the size.
    #[arg(long, default_value_t = 0)]
    pub size_node_min_count: i64,
    /// The maximum number of workers; overrides the size.
    #[arg(long, default_value_t = 0)]
    pub size_node_max_count: i64,
    /// The node groups to resize (EKS).
    #[arg(long, value_delimiter = ',')]
    pub nodegroups: Vec<String>,
    /// The master instance type (kops).
    #[arg(long, default_value = "")]
    pub size_master_instance_type: String,
    #[command(flatten)]
    pub rotator: RotatorFlags,
}

#[derive(Debug, Clone, Subcommand)]
pub enum NodegroupCmd {
    /// Create node groups on an EKS cluster.
    Create(NodegroupCreateArgs),
    /// Delete a node group of an EKS cluster.
    Delete(NodegroupDeleteArgs),
}

#[derive(Debug, Clone, Args)]
pub struct NodegroupCreateArgs {
    /// The ID of the cluster.
    #[arg(long)]
    pub cluster: String,
    /// The node groups as name=size, e.g. spot=SizeAlef1000.
    #[arg(long, required = true, value_parser = parse_key_value, value_delimiter = ',', value_name = "NAME=SIZE")]
    pub nodegroups: Vec<(String, String)>,
    /// Node groups to place in public subnets.
    #[arg(long, value_delimiter = ',')]
    pub nodegroups_with_public_subnet: Vec<String>,
    /// Node groups that get a security group.
    #[arg(long, value_delimiter = ',')]
    pub nodegroups_with_sg: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct NodegroupDeleteArgs {
    /// The ID of the cluster.
    #[arg(long)]
    pub cluster: String,
    /// The node group to delete.
    #[arg(long)]
    pub nodegroup: String,
}

#[derive(Debug, Clone, Subcommand)]
pub enum AnnotationCmd {
    /// Add annotations to a cluster.
    Add(AnnotationAddArgs),
    /// Remove an annotation from a cluster.
    Delete(AnnotationDeleteArgs),
}

#[derive(Debug, Clone, Args)]
pub struct AnnotationAddArgs {
    /// The ID of the cluster.
    #[arg(long)]
    pub cluster: String,
    /// An annotation to add (repeatable).
    #[arg(long = "annotation", required = true)]
    pub annotations: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct AnnotationDeleteArgs {
    /// The ID of the cluster.
    #[arg(long)]
    pub cluster: String,
    /// The annotation to remove.
    #[arg(long)]
    pub annotation: String,
}

pub async fn run(cmd: ClusterCmd, ctx: &Ctx) -> anyhow::Result<()> {
    let client = &ctx.client;
    match cmd {
        ClusterCmd::Create(args) => create(*args, ctx).await,
        ClusterCmd::Import(args) => {
            let request = ImportClusterRequest {
                external_cluster_secret_name: args.secret_name,
                vpc_id: args.vpc_id,
                annotations: args.annotations,
                allow_installations: args.allow_installations,
                api_security_lock: false,
            };
            if ctx.dry_run(&request)? {
                return Ok(());
            }
            let cluster = client
                .import_cluster(&request)
                .await
                .context("failed to import cluster")?;
            print_json(&cluster)
        }
        ClusterCmd::Get(args) => {
            let cluster = client
                .get_cluster(&args.cluster)
                .await
                .context("failed to query cluster")?;
            // As the original: an unknown cluster prints nothing.
            match cluster {
                Some(cluster) => print_json(&cluster),
                None => Ok(()),
            }
        }
        ClusterCmd::List(args) => {
            let clusters = client
                .get_clusters(&args.paging.paging())
                .await
                .context("failed to query clusters")?;
            let mut headers = TABLE_HEADERS.to_vec();
            if args.show_tags {
                headers.push("TAG");
            }
            print_list(
                &clusters,
                &headers,
                |c| table_row(c, args.show_tags),
                &args.output,
            )
        }
        ClusterCmd::Provision(args) => provision(*args, ctx).await,
        ClusterCmd::Update(args) => {
            let request = UpdateClusterRequest {
                name: args.name,
                allow_installations: args.allow_installations,
            };
            if ctx.dry_run(&request)? {
                return Ok(());
            }
            let cluster = client
                .update_cluster(&args.cluster, &request)
                .await
                .context("failed to update cluster")?;
            print_json(&cluster)
        }
        ClusterCmd::Upgrade(args) => {
            let request = PatchUpgradeClusterRequest {
                version: args.version,
                ami: args.ami,
                rotator_config: Some(args.rotator.config()),
                max_pods_per_node: args.max_pods_per_node,
                kms_key_id: args.kms_key_id,
            };
            if ctx.dry_run(&request)? {
                return Ok(());
            }
            let cluster = client
                .upgrade_cluster(&args.cluster, &request)
                .await
                .context("failed to upgrade cluster")?;
            print_json(&cluster)
        }
        ClusterCmd::Resize(args) => resize(args, ctx).await,
        ClusterCmd::Nodegroup(cmd) => nodegroup(cmd, ctx).await,
        ClusterCmd::Delete(args) => client
            .delete_cluster(&args.cluster)
            .await
            .context("failed to delete cluster"),
        ClusterCmd::Utilities(args) => {
            let metadata = client
                .get_cluster_utilities(&args.cluster)
                .await
                .context("failed to query cluster utilities")?;
            print_json(&metadata)
        }
        ClusterCmd::Dictionary => print_json(&cluster_size::valid_sizes()),
        ClusterCmd::StateReport => print_json(&cluster_request_state_report()),
        ClusterCmd::Annotation(cmd) => annotation(cmd, ctx).await,
        ClusterCmd::Installation(cmd) => super::cluster_installation::run(cmd, ctx).await,
    }
}

/// The create request the flags describe.
pub fn create_request(args: &CreateArgs) -> anyhow::Result<CreateClusterRequest> {
    let mut request = CreateClusterRequest {
        provider: args.provider.clone(),
        version: args.version.clone(),
        ami: args.ami.clone(),
        zones: args
            .zones
            .split(',')
            .map(str::trim)
            .filter(|z| !z.is_empty())
            .map(str::to_string)
            .collect(),
        allow_installations: args.allow_installations,
        utility_versions: args.utilities.all(),
        annotations: args.annotations.clone(),
        networking: args.networking.clone(),
        vpc: args.vpc.clone(),
        max_pods_per_node: args.max_pods_per_node,
        cluster_role_arn: args.cluster_role_arn.clone(),
        node_role_arn: args.node_role_arn.clone(),
        nodegroup_with_public_subnet: args.nodegroups_with_public_subnet.clone(),
        nodegroup_with_sg: args.nodegroups_with_sg.clone(),
        argocd_register: args.utilities.argocd(),
        pgbouncer_config: Some(args.pgbouncer.config()),
        ..Default::default()
    };
    if args.eks {
        request.provisioner = Provisioner::Eks.as_str().to_string();
    }
    cluster_size::apply_to_create_cluster_request(&args.size, &mut request)
        .context("failed to apply size values")?;
    let additional: BTreeMap<String, String> = args.additional_nodegroups.iter().cloned().collect();
    cluster_size::add_to_create_cluster_request(&additional, &mut request)
        .context("failed to apply node group sizes")?;
    if !args.size_master_instance_type.is_empty() {
        request.master_instance_type = args.size_master_instance_type.clone();
    }
    if args.size_master_count != 0 {
        request.master_count = args.size_master_count;
    }
    if !args.size_node_instance_type.is_empty() {
        request.node_instance_type = args.size_node_instance_type.clone();
    }
    if args.size_node_count != 0 {
        // kops creates clusters with min = max.
        request.node_min_count = args.size_node_count;
        request.node_max_count = args.size_node_count;
    }
    Ok(request)
}

async fn create(args: CreateArgs, ctx: &Ctx) -> anyhow::Result<()> {
    if !args.cluster.is_empty() {
        let cluster = ctx
            .client
            .retry_create_cluster(&args.cluster)
            .await
            .context("failed to retry cluster creation")?;
        return print_json(&cluster);
    }
    let request = create_request(&args)?;
    if ctx.dry_run(&request)? {
        return Ok(());
    }
    let cluster = ctx
        .client
        .create_cluster(&request)
        .await
        .context("failed to create cluster")?;
    print_json(&cluster)
}

/// The provision request the flags describe; `None` when they ask for
/// nothing in particular (the original then sends no body).
pub fn provision_request(args: &ProvisionArgs) -> Option<ProvisionClusterRequest> {
    let patch = args.pgbouncer.patch();
    let request = ProvisionClusterRequest {
        force: args.reprovision_all_utilities,
        utility_versions: args.utilities.given(),
        argocd_register: args.utilities.argocd(),
        pgbouncer_config: (patch != Default::default()).then_some(patch),
    };
    (request != ProvisionClusterRequest::default()).then_some(request)
}

async fn provision(args: ProvisionArgs, ctx: &Ctx) -> anyhow::Result<()> {
    let request = provision_request(&args);
    if ctx.dry_run(&request)? {
        return Ok(());
    }
    let cluster = ctx
        .client
        .provision_cluster(&args.cluster, request.as_ref())
        .await
        .context("failed to provision cluster")?;
    print_json(&cluster)
}

/// The resize request the flags describe.
pub fn resize_request(args: &ResizeArgs) -> anyhow::Result<PatchClusterSizeRequest> {
    let mut request = PatchClusterSizeRequest::default();
    cluster_size::apply_to_patch_cluster_size_request(&args.size, &mut request)
        .context("failed to apply size values")?;
    if !args.size_node_instance_type.is_empty() {
        request.node_instance_type = Some(args.size_node_instance_type.clone());
    }
    if args.size_node_min_count != 0 {
        request.node_min_count = Some(args.size_node_min_count);
    }
    if args.size_node_max_count != 0 {
        request.node_max_count = Some(args.size_node_max_count);
    }
    if !args.size_master_instance_type.is_empty() {
        request.master_instance_type = Some(args.size_master_instance_type.clone());
    }
    request.node_groups = args.nodegroups.clone();
    request.rotator_config = Some(args.rotator.config());
    Ok(request)
}

async fn resize(args: ResizeArgs, ctx: &Ctx) -> anyhow::Result<()> {
    let request = resize_request(&args)?;
    if ctx.dry_run(&request)? {
        return Ok(());
    }
    let cluster = ctx
        .client
        .resize_cluster(&args.cluster, &request)
        .await
        .context("failed to resize cluster")?;
    print_json(&cluster)
}

async fn nodegroup(cmd: NodegroupCmd, ctx: &Ctx) -> anyhow::Result<()> {
    match cmd {
        NodegroupCmd::Create(args) => {
            let mut request = CreateNodegroupsRequest {
                nodegroup_with_public_subnet: args.nodegroups_with_public_subnet,
                nodegroup_with_sg: args.nodegroups_with_sg,
                ..Default::default()
            };
            let sizes: BTreeMap<String, String> = args.nodegroups.into_iter().collect();
            cluster_size::add_to_create_nodegroups_request(&sizes, &mut request)
                .context("failed to apply node group sizes")?;
            if ctx.dry_run(&request)? {
                return Ok(());
            }
            let cluster = ctx
                .client
                .create_nodegroups(&args.cluster, &request)
                .await
                .context("failed to create node groups")?;
            print_json(&cluster)
        }
        NodegroupCmd::Delete(args) => {
            let cluster = ctx
                .client
                .delete_nodegroup(&args.cluster, &args.nodegroup)
                .await
                .context("failed to delete node group")?;
            print_json(&cluster)
        }
    }
}

async fn annotation(cmd: AnnotationCmd, ctx: &Ctx) -> anyhow::Result<()> {
    match cmd {
        AnnotationCmd::Add(args) => {
            let request = AddAnnotationsRequest {
                annotations: args.annotations,
            };
            if ctx.dry_run(&request)? {
                return Ok(());
            }
            let cluster = ctx
                .client
                .add_cluster_annotations(&args.cluster, &request)
                .await
                .context("failed to add cluster annotations")?;
            print_json(&cluster)
        }
        AnnotationCmd::Delete(args) => ctx
            .client
            .delete_cluster_annotation(&args.cluster, &args.annotation)
            .await
            .context("failed to delete cluster annotation"),
    }
}

/// Columns of `cloud cluster list`.
pub const TABLE_HEADERS: [&str; 10] = [
    "ID",
    "NAME",
    "STATE",
    "VERSION",
    "MASTER NODES",
    "WORKER NODES",
    "AMI ID/NAME",
    "NETWORKING",
    "VPC",
    "STATUS",
];

/// One row of `cloud cluster list` (plus the TAG column with `show_tags`).
pub fn table_row(dto: &ClusterDto, show_tags: bool) -> Vec<String> {
    let c = &dto.cluster;
    let common = c.common_metadata();
    let masters = match c.provisioner {
        Provisioner::Kops => c
            .provisioner_metadata_kops
            .as_ref()
            .map(|k| format!("{} x {}", k.master_count, k.master_instance_type))
            .unwrap_or_default(),
        Provisioner::Eks => "eks".to_string(),
        Provisioner::External => "external".to_string(),
    };
    let workers = match c.provisioner {
        Provisioner::External => "external".to_string(),
        _ => format!(
            "{} x {} (max {})",
            common.node_min_count, common.node_instance_type, common.node_max_count
        ),
    };
    let status = if c.allow_installations {
        "online"
    } else {
        "offline"
    };
    let mut row = vec![
        c.id.clone(),
        c.name.clone(),
        c.state.to_string(),
        common.version,
        masters,
        workers,
        common.ami,
        c.networking.clone(),
        common.vpc,
        status.to_string(),
    ];
    if show_tags {
        row.push(
            dto.annotations
                .iter()
                .map(|a| a.name.as_str())
                .collect::<Vec<_>>()
                .join(","),
        );
    }
    row
}

#[cfg(test)]
#[path = "cluster/tests.rs"]
mod tests;
