//! Quarantine bookkeeping of one plugin: misbehaving calls counted per export and per scope
//! (`CallContext::scope`), a quarantine per scope, and one for every scope once the plugin is
//! quarantined in enough of them.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::plugin::error::{CallKind, Failure};

/// Most scopes a plugin keeps a record for. Only scopes with recent failures have one (a
/// success that clears a scope's counts forgets it); when full, the scope that failed least
/// recently and is not quarantined is forgotten first.
pub(crate) const MAX_SCOPES: usize = 1024;

/// Whether a plugin is serving calls in a scope, and its recent record there.
///
/// The rule: a plugin is quarantined in a scope after `quarantine_after` misbehaving calls of
/// one export in a row there (traps, limits, capability and contract violations; never host
/// faults or a user's cancel). Only a success of the *same* export in the *same* scope resets
/// that count, so cheap `validate` calls on every edit cannot hide an `execute` that always
/// burns its budget, and one project's good calls do not hide another's failures. Once the
/// plugin is quarantined in `quarantine_scopes` distinct scopes it is quarantined in every
/// scope. Each quarantine lifts by itself after `quarantine_for`, so no burst of bad input
/// disables a node type for good.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PluginHealth {
    /// Misbehaving calls in a row in this scope, of the export that failed most.
    pub consecutive_failures: u32,
    /// Why the plugin does not serve calls in this scope, if it is quarantined here or
    /// everywhere.
    pub quarantined: Option<String>,
    /// In how many scopes the plugin is quarantined now.
    pub quarantined_scopes: usize,
}

/// The engine's quarantine settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rules {
    /// Misbehaving calls in a row of one export in one scope that quarantine it there (0: never).
    pub after: u32,
    /// How long a quarantine lasts.
    pub lasts: Duration,
    /// Scopes quarantined at once that quarantine the plugin everywhere.
    pub scopes: u32,
}

/// How a call ended, as far as quarantine is concerned.
pub(crate) enum Verdict<'a> {
    /// The export answered.
    Served,
    /// The plugin broke a rule or a limit.
    Misbehaved(&'a Failure),
    /// The call failed for a reason that is not the plugin's (host fault, cancel, wall time).
    NotCounted,
}

/// Every scope's record and the plugin-wide quarantine.
#[derive(Debug, Default)]
pub(crate) struct HealthBook {
    /// Calls without a scope: one scope of their own.
    unscoped: Option<ScopeRecord>,
    scoped: HashMap<String, ScopeRecord>,
    everywhere: Option<Quarantine>,
}

#[derive(Debug)]
struct ScopeRecord {
    /// Misbehaving calls in a row, per export (describe, validate, execute, run-action).
    by_kind: [u32; 4],
    quarantine: Option<Quarantine>,
    last_failure: Instant,
}

#[derive(Debug)]
struct Quarantine {
    reason: String,
    since: Instant,
}

impl Quarantine {
    fn active(&self, lasts: Duration) -> bool {
        self.since.elapsed() < lasts
    }
}

impl ScopeRecord {
    fn quarantined(&self, lasts: Duration) -> bool {
        self.quarantine.as_ref().is_some_and(|q| q.active(lasts))
    }
}

impl HealthBook {
    /// Why a call in `scope` is refused, if it is.
    pub(crate) fn refusal(&mut self, scope: Option<&str>, lasts: Duration) -> Option<String> {
        self.lift_expired(scope, lasts);
        if let Some(everywhere) = &self.everywhere {
            return Some(everywhere.reason.clone());
        }
        self.get(scope)
            .and_then(|record| record.quarantine.as_ref())
            .map(|quarantine| quarantine.reason.clone())
    }

    /// The record as a call in `scope` sees it.
    pub(crate) fn view(&mut self, scope: Option<&str>, lasts: Duration) -> PluginHealth {
        let quarantined = self.refusal(scope, lasts);
        PluginHealth {
            consecutive_failures: self.get(scope).map_or(0, |record| {
                record.by_kind.iter().copied().max().unwrap_or(0)
            }),
            quarantined,
            quarantined_scopes: self.quarantined_scopes(lasts),
        }
    }

    /// Counts a finished call of `kind` in `scope`.
    pub(crate) fn record(
        &mut self,
        scope: Option<&str>,
        kind: CallKind,
        verdict: Verdict<'_>,
        rules: Rules,
    ) {
        let slot = kind as usize;
        match verdict {
            Verdict::NotCounted => {}
            Verdict::Served => {
                if let Some(record) = self.get(scope) {
                    record.by_kind[slot] = 0;
                    if record.by_kind == [0; 4] && record.quarantine.is_none() {
                        self.forget(scope);
                    }
                }
            }
            Verdict::Misbehaved(failure) => {
                self.lift_expired(scope, rules.lasts);
                let record = self.entry(scope, rules.lasts);
                record.by_kind[slot] += 1;
                record.last_failure = Instant::now();
                let failures = record.by_kind[slot];
                if rules.after == 0 || failures < rules.after || record.quarantine.is_some() {
                    return;
                }
                let place = scope
                    .map(|scope| format!(" for {scope:?}"))
                    .unwrap_or_default();
                let reason = format!(
                    "{failures} {kind} calls in a row failed{place}; the last one: {failure}"
                );
                record.quarantine = Some(Quarantine {
                    reason: reason.clone(),
                    since: Instant::now(),
                });
                let quarantined = self.quarantined_scopes(rules.lasts);
                let needed = (rules.scopes.max(1) as usize).min(MAX_SCOPES);
                if self.everywhere.is_none() && quarantined >= needed {
                    self.everywhere = Some(Quarantine {
                        reason: format!("quarantined in {quarantined} scopes; the last: {reason}"),
                        since: Instant::now(),
                    });
                }
            }
        }
    }

    /// Forgets every record and quarantine.
    pub(crate) fn clear(&mut self) {
        *self = HealthBook::default();
    }

    /// Scopes in which the plugin is quarantined now.
    fn quarantined_scopes(&self, lasts: Duration) -> usize {
        self.unscoped
            .iter()
            .chain(self.scoped.values())
            .filter(|record| record.quarantined(lasts))
            .count()
    }

    /// Lifts quarantines that are over: the plugin-wide one resets the whole book (every
    /// scope's quarantine began before it), a scope's one forgets that scope's record.
    fn lift_expired(&mut self, scope: Option<&str>, lasts: Duration) {
        if self.everywhere.as_ref().is_some_and(|q| !q.active(lasts)) {
            self.clear();
        }
        if self
            .get(scope)
            .is_some_and(|record| record.quarantine.is_some() && !record.quarantined(lasts))
        {
            self.forget(scope);
        }
    }

    fn get(&mut self, scope: Option<&str>) -> Option<&mut ScopeRecord> {
        match scope {
            None => self.unscoped.as_mut(),
            Some(scope) => self.scoped.get_mut(scope),
        }
    }

    fn forget(&mut self, scope: Option<&str>) {
        match scope {
            None => self.unscoped = None,
            Some(scope) => {
                self.scoped.remove(scope);
            }
        }
    }

    /// The record of `scope`, made (and room made for it) if there is none.
    fn entry(&mut self, scope: Option<&str>, lasts: Duration) -> &mut ScopeRecord {
        let fresh = || ScopeRecord {
            by_kind: [0; 4],
            quarantine: None,
            last_failure: Instant::now(),
        };
        let Some(scope) = scope else {
            return self.unscoped.get_or_insert_with(fresh);
        };
        if !self.scoped.contains_key(scope) {
            self.make_room(lasts);
            self.scoped.insert(scope.to_string(), fresh());
        }
        self.scoped.get_mut(scope).expect("inserted above")
    }

    /// Keeps the scoped records under [`MAX_SCOPES`] before one more is added.
    fn make_room(&mut self, lasts: Duration) {
        if self.scoped.len() < MAX_SCOPES {
            return;
        }
        self.scoped
            .retain(|_, record| record.quarantine.is_none() || record.quarantined(lasts));
        if self.scoped.len() < MAX_SCOPES {
            return;
        }
        let oldest = self
            .scoped
            .iter()
            .min_by_key(|(_, record)| (record.quarantined(lasts), record.last_failure))
            .map(|(scope, _)| scope.clone());
        if let Some(scope) = oldest {
            self.scoped.remove(&scope);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: Rules = Rules {
        after: 2,
        lasts: Duration::from_secs(600),
        scopes: 3,
    };

    fn trap() -> Failure {
        Failure::Trap {
            message: "boom".into(),
            stderr: String::new(),
        }
    }

    fn fail(book: &mut HealthBook, scope: &str) {
        book.record(
            Some(scope),
            CallKind::Execute,
            Verdict::Misbehaved(&trap()),
            RULES,
        );
    }

    #[test]
    fn the_scopes_remembered_are_bounded_and_quarantined_ones_are_kept() {
        let mut book = HealthBook::default();
        fail(&mut book, "quarantined");
        fail(&mut book, "quarantined");
        for n in 0..MAX_SCOPES + 100 {
            fail(&mut book, &format!("scope-{n}"));
        }
        assert_eq!(book.scoped.len(), MAX_SCOPES);
        assert!(book.refusal(Some("quarantined"), RULES.lasts).is_some());
        assert!(
            !book.scoped.contains_key("scope-0"),
            "the least recent failure is forgotten first"
        );
        assert!(
            book.scoped
                .contains_key(&format!("scope-{}", MAX_SCOPES + 99))
        );
    }

    #[test]
    fn a_scope_whose_counts_are_cleared_is_forgotten() {
        let mut book = HealthBook::default();
        fail(&mut book, "a");
        book.record(Some("a"), CallKind::Execute, Verdict::Served, RULES);
        assert!(book.scoped.is_empty());
    }
}
