//! The root command: help, completion scripts, and the bare command.

use crate::common::*;

#[tokio::test]
async fn help_lists_every_command_group() {
    let out = cloud(&["--help"]).await.success();
    for group in [
        "server",
        "schema",
        "cluster",
        "installation",
        "group",
        "webhook",
        "subscription",
        "event",
        "database",
        "security",
        "completion",
    ] {
        assert!(out.stdout.contains(group), "{group} in {}", out.stdout);
    }
}

#[tokio::test]
async fn completion_scripts_are_generated() {
    for shell in ["bash", "zsh", "fish"] {
        let out = cloud(&["completion", shell]).await.success();
        assert!(out.stdout.contains("cloud"), "{shell}: {}", out.stdout);
        assert!(out.stdout.contains("installation"), "{shell}");
    }
    cloud(&["completion", "tcsh"]).await.failure();
}

#[tokio::test]
async fn bare_cloud_prints_usage() {
    // The original panics here; we print the usage and exit 2.
    let out = cloud(&[]).await.failure();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stderr.contains("Usage"), "{}", out.stderr);
}
