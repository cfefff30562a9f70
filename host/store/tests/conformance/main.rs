//! The store conformance suite: every behaviour, run against SQLite and PostgreSQL.
//!
//! PostgreSQL comes from `MDC_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`); each test gets a fresh database. A PostgreSQL
//! that cannot be reached fails these tests — it never skips them.

mod cases;
mod schema;
mod support;

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let db = crate::support::sqlite().await;
                    crate::cases::$case(&db.store).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let db = crate::support::postgres().await;
                    crate::cases::$case(&db.store).await;
                    db.drop().await;
                }
            )*
        }
    };
}

conformance!(
    users_have_unique_emails,
    projects_have_owners_and_members,
    graph_versions_count_up_and_keep_history,
    concurrent_graph_saves_get_distinct_versions,
    graph_lease_is_exclusive_until_it_expires,
    assets_round_trip_and_refuse_bad_input,
    object_users_count_bytes_and_thumbnails_across_projects,
    queue_serves_priority_then_age_per_tier,
    claims_are_exclusive_under_concurrency,
    priority_changes_move_queue_position,
    cancel_ends_queued_and_flags_running,
    finish_stores_a_take_and_caches_it,
    only_the_lease_holder_may_report_or_finish,
    expired_leases_are_requeued_then_failed,
    migrations_are_idempotent,
    a_closed_database_reports_unavailable,
    batches_enqueue_claim_renew_and_finish_in_queue_order,
    tier_usage_counts_runs_reuses_failures_and_cost,
    accounts_sign_in_by_password_session_and_token,
    claims_match_the_requested_build_and_release_gives_back,
    multi_row_claims_are_exclusive_under_concurrency,
    leases_follow_the_database_clock_not_the_workers,
    generation_steps_move_once,
    concurrent_writers_lose_nothing,
    a_project_scope_refuses_other_projects_ids,
    uploads_and_removals_of_shared_bytes_take_turns,
);
