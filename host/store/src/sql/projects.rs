//! Users, projects and members.

use sqlx::Row;

use super::SqlStore;
use super::rows::{PROJECT_COLUMNS, USER_COLUMNS, found, project, user};
use crate::model::*;
use crate::traits::ProjectStore;
use crate::{Result, StoreError, new_id};

#[async_trait::async_trait]
impl ProjectStore for SqlStore {
    async fn create_user(&self, name: &str, email: &str) -> Result<User> {
        if !email.contains('@') {
            return Err(StoreError::Invalid(format!(
                "{email:?} is not an e-mail address"
            )));
        }
        let user = User {
            id: new_id(),
            name: name.to_string(),
            email: email.to_string(),
            created_at: self.local_now(),
        };
        sqlx::query("INSERT INTO users (id, name, email, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&user.id)
            .bind(&user.name)
            .bind(&user.email)
            .bind(user.created_at)
            .execute(self.writer())
            .await
            .map_err(|err| match StoreError::from(err) {
                StoreError::Conflict(_) => {
                    StoreError::Conflict(format!("a user with e-mail {email:?} exists"))
                }
                other => other,
            })?;
        Ok(user)
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        let row = sqlx::query(sql!("SELECT {USER_COLUMNS} FROM users WHERE email = $1"))
            .bind(email)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(user).transpose()
    }

    async fn create_project(&self, name: &str, owner_id: &str) -> Result<Project> {
        if name.trim().is_empty() {
            return Err(StoreError::Invalid("a project needs a name".into()));
        }
        let now = self.local_now();
        let project = Project {
            id: new_id(),
            name: name.trim().to_string(),
            owner_id: owner_id.to_string(),
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.writer().begin().await?;
        sqlx::query("INSERT INTO projects (id, name, owner_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&project.id)
            .bind(&project.name)
            .bind(&project.owner_id)
            .bind(now)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(|err| match StoreError::from(err) {
                StoreError::Invalid(_) => StoreError::Invalid(format!("owner {owner_id:?} does not exist")),
                other => other,
            })?;
        sqlx::query(
            "INSERT INTO project_members (project_id, user_id, role) VALUES ($1, $2, 'owner')",
        )
        .bind(&project.id)
        .bind(owner_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(project)
    }

    async fn project(&self, id: &str) -> Result<Project> {
        let row = sqlx::query(sql!("SELECT {PROJECT_COLUMNS} FROM projects WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        project(&found(row, "project", id)?)
    }

    async fn list_projects(&self, page: Page) -> Result<Vec<Project>> {
        let rows = sqlx::query(sql!(
            "SELECT {PROJECT_COLUMNS} FROM projects ORDER BY updated_at DESC, id LIMIT $1 OFFSET $2"
        ))
        .bind(page.sql_limit())
        .bind(i64::from(page.offset))
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(project).collect()
    }

    async fn set_member(&self, project_id: &str, user_id: &str, role: Role) -> Result<()> {
        sqlx::query(
            "INSERT INTO project_members (project_id, user_id, role) VALUES ($1, $2, $3)
             ON CONFLICT (project_id, user_id) DO UPDATE SET role = excluded.role",
        )
        .bind(project_id)
        .bind(user_id)
        .bind(role.as_str())
        .execute(self.writer())
        .await?;
        Ok(())
    }

    async fn members(&self, project_id: &str) -> Result<Vec<Member>> {
        let rows = sqlx::query(
            "SELECT user_id, role FROM project_members WHERE project_id = $1 ORDER BY user_id",
        )
        .bind(project_id)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|row| {
                let role: String = row.try_get("role")?;
                Ok(Member {
                    user_id: row.try_get("user_id")?,
                    role: Role::parse(&role)
                        .ok_or_else(|| StoreError::Database(format!("unknown role {role:?}")))?,
                })
            })
            .collect()
    }
}
