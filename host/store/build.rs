//! Rebuilds when a migration is added or changed: `sqlx::migrate!` embeds the folders.

fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
