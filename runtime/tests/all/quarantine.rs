//! Quarantine is scoped: a plugin that keeps failing for one project or user is refused there
//! only, until it has been quarantined in `quarantine_scopes` scopes; then it is refused in
//! every scope until the quarantine lifts.

use std::time::Duration;

use mdc_runtime::plugin::types::Value;
use mdc_runtime::plugin::{
    CallContext, CallError, EngineConfig, Failure, Limits, Plugin, PluginEngine,
};

use crate::support::{choice, fixture_bytes, input};

/// The misbehave guest on an engine that quarantines a scope after `after` misbehaving calls
/// and the plugin everywhere once `scopes` scopes are quarantined.
async fn misbehave(after: u32, scopes: u32, lasts: Duration) -> Plugin {
    let engine = PluginEngine::new(EngineConfig {
        quarantine_after: after,
        quarantine_scopes: scopes,
        quarantine_for: lasts,
        ..EngineConfig::default()
    })
    .unwrap();
    let plugin = engine
        .load("misbehave", &fixture_bytes("misbehave"))
        .await
        .unwrap();
    // A runaway is stopped quickly, so a `loop` call is one more misbehaving call.
    plugin.with_limits(Limits {
        cpu_time: Duration::from_millis(50),
        ..Limits::default()
    })
}

const LONG: Duration = Duration::from_secs(600);

/// Executes `mode` for `scope` (`None`: no scope).
async fn run(plugin: &Plugin, mode: &str, scope: Option<&str>) -> Result<Vec<Value>, CallError> {
    let mut context = CallContext::default();
    if let Some(scope) = scope {
        context = context.with_scope(scope);
    }
    let outcome = plugin
        .execute(&input(&[("mode", choice(mode))]), context)
        .await?;
    Ok(outcome.value.values.into_iter().map(|v| v.value).collect())
}

async fn serves(plugin: &Plugin, scope: Option<&str>) {
    assert_eq!(
        run(plugin, "ok", scope).await.unwrap(),
        [Value::Text("fine".into())],
        "{scope:?} is served"
    );
}

async fn refuses(plugin: &Plugin, scope: Option<&str>) -> String {
    let err = run(plugin, "ok", scope).await.unwrap_err();
    assert!(matches!(err.failure, Failure::Quarantined(_)), "{err}");
    err.to_string()
}

async fn fail(plugin: &Plugin, mode: &str, scope: Option<&str>) {
    let err = run(plugin, mode, scope).await.unwrap_err();
    assert!(err.failure.is_misbehaviour(), "{err}");
}

#[tokio::test]
async fn a_plugin_failing_for_one_scope_is_refused_there_and_serves_the_others() {
    let plugin = misbehave(2, 3, LONG).await;
    fail(&plugin, "trap", Some("project-a")).await;
    fail(&plugin, "loop", Some("project-a")).await;
    let refused = refuses(&plugin, Some("project-a")).await;
    assert!(
        refused.contains("2 execute calls in a row failed for \"project-a\"; the last one:"),
        "{refused}"
    );
    serves(&plugin, Some("project-b")).await;
    serves(&plugin, None).await;
    let health = plugin.health_for(Some("project-a"));
    assert!(health.quarantined.is_some(), "{health:?}");
    assert_eq!(health.quarantined_scopes, 1);
    assert_eq!(plugin.health_for(Some("project-b")).quarantined, None);
}

#[tokio::test]
async fn a_plugin_quarantined_in_enough_scopes_is_refused_everywhere() {
    let plugin = misbehave(1, 3, LONG).await;
    fail(&plugin, "trap", Some("project-a")).await;
    fail(&plugin, "loop", Some("project-b")).await;
    serves(&plugin, Some("project-c")).await;
    // Calls without a scope are one scope of their own: the third.
    fail(&plugin, "trap", None).await;
    let refused = refuses(&plugin, Some("project-c")).await;
    assert!(refused.contains("quarantined in 3 scopes"), "{refused}");
    refuses(&plugin, Some("project-never-seen")).await;
    assert_eq!(plugin.health().quarantined_scopes, 3);
    plugin.release_quarantine();
    serves(&plugin, Some("project-a")).await;
}

#[tokio::test]
async fn a_success_in_a_scope_resets_that_scope_only() {
    let plugin = misbehave(2, 3, LONG).await;
    fail(&plugin, "trap", Some("project-a")).await;
    fail(&plugin, "trap", Some("project-b")).await;
    serves(&plugin, Some("project-a")).await;
    assert_eq!(plugin.health_for(Some("project-a")).consecutive_failures, 0);
    assert_eq!(plugin.health_for(Some("project-b")).consecutive_failures, 1);
    fail(&plugin, "trap", Some("project-a")).await;
    fail(&plugin, "trap", Some("project-b")).await;
    serves(&plugin, Some("project-a")).await;
    refuses(&plugin, Some("project-b")).await;
}

#[tokio::test]
async fn a_quarantine_everywhere_lifts_after_its_time() {
    let lasts = Duration::from_millis(300);
    let plugin = misbehave(1, 2, lasts).await;
    fail(&plugin, "trap", Some("project-a")).await;
    fail(&plugin, "trap", Some("project-b")).await;
    refuses(&plugin, Some("project-c")).await;
    tokio::time::sleep(lasts + Duration::from_millis(50)).await;
    serves(&plugin, Some("project-c")).await;
    serves(&plugin, Some("project-a")).await;
    assert_eq!(plugin.health().quarantined_scopes, 0);
}
