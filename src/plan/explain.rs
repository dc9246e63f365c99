//! Exists so that a drift finding can say who changed it, when, and how:
//! the join of the plan's drift with the entries of Entra's custom security
//! attribute audit log (`GET /beta/auditLogs/customSecurityAttributeAudits`,
//! <https://learn.microsoft.com/graph/api/resources/customsecurityattributeaudit?view=graph-rest-beta>).
//! Pure: the entries are read elsewhere (`graph::audit`) and handed in; this
//! module only decides which entry explains which finding (ARCHITECTURE.md,
//! "Drift explained by the audit log").
//!
//! What Microsoft documents, and what it leaves open:
//! - Each entry has `activityDateTime`, `activityDisplayName`, `initiatedBy`
//!   (`user` with `userPrincipalName`, or `app` with `displayName` and
//!   `appId`), `result`, and `targetResources[]` with `id`, `displayName`,
//!   `type`, `userPrincipalName` and `modifiedProperties[]`
//!   (`displayName`, `oldValue`, `newValue`).
//! - The logged activities are listed in "Manage access to custom security
//!   attributes" (<https://learn.microsoft.com/entra/fundamentals/custom-security-attributes-manage#view-audit-logs-for-attribute-changes>):
//!   "Add an attribute set", "Update an attribute set", "Add custom security
//!   attribute definition in an attribute set", "Update custom security
//!   attribute definition in an attribute set", "Update attribute values
//!   assigned to a user" and "Update attribute values assigned to a
//!   servicePrincipal". No activity is documented for predefined values.
//! - How a value change names the attribute in `modifiedProperties` is not
//!   documented, nor what a definition's target `id` is (the documented
//!   example shows a GUID and no `displayName`). So the join is tolerant:
//!   a property names an attribute when its `displayName` is `Set.Attribute`
//!   or the definition id `Set_Attribute` (ignoring case); an entry on the
//!   principal that names no attribute the tenant knows is shown without old
//!   and new values rather than dropped; and an entry on a definition, set
//!   or value is matched by target `id` or `displayName`.
//!
//! Only entries whose `result` is `success` (or absent) explain anything:
//! a failed attempt changed nothing. Per finding, the newest
//! `SHOWN_PER_FINDING` entries are kept, newest first; the rest are counted.

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::model::live::{LivePrincipal, LiveState};
use crate::model::{PrincipalKey, PrincipalKind, definition_id};
use crate::plan::{Address, Drift};

/// The newest entries shown per finding; older ones are only counted.
pub const SHOWN_PER_FINDING: usize = 3;

/// Who initiated an audited activity (`initiatedBy`: a user or an app).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Actor {
    User {
        user_principal_name: Option<String>,
        id: Option<String>,
        display_name: Option<String>,
    },
    App {
        display_name: Option<String>,
        app_id: Option<String>,
        service_principal_id: Option<String>,
    },
    /// Neither `user` nor `app` was given.
    Unknown,
}

impl Actor {
    /// `user bob@contoso.com`, `app HR sync (appId 1111…)`.
    pub fn words(&self) -> String {
        match self {
            Actor::User { user_principal_name: Some(upn), .. } => format!("user {upn}"),
            Actor::User { display_name: Some(name), id, .. } => match id {
                Some(id) => format!("user {name} (id {id})"),
                None => format!("user {name}"),
            },
            Actor::User { id: Some(id), .. } => format!("user with id {id}"),
            Actor::User { .. } => "a user the log does not name".to_owned(),
            Actor::App { display_name, app_id, service_principal_id } => {
                match (display_name, app_id.as_ref().or(service_principal_id.as_ref())) {
                    (Some(name), Some(id)) => format!("app {name} (appId {id})"),
                    (Some(name), None) => format!("app {name}"),
                    (None, Some(id)) => format!("app with appId {id}"),
                    (None, None) => "an app the log does not name".to_owned(),
                }
            }
            Actor::Unknown => "an initiator the log does not name".to_owned(),
        }
    }
}

/// One `modifiedProperties[]` item, values as Graph wrote them (JSON text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModifiedProperty {
    pub name: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}

/// One `targetResources[]` item.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditTarget {
    pub id: Option<String>,
    pub display_name: Option<String>,
    /// `type`: `User`, `ServicePrincipal`, `Other`, ...
    pub kind: Option<String>,
    pub user_principal_name: Option<String>,
    pub modified: Vec<ModifiedProperty>,
}

/// One entry of the custom security attribute audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: String,
    /// `activityDateTime` as Graph wrote it (UTC, RFC 3339).
    pub at: String,
    /// `activityDisplayName`.
    pub activity: String,
    /// `result`: `success`, `failure`, ...; `None` when absent.
    pub result: Option<String>,
    pub actor: Actor,
    pub targets: Vec<AuditTarget>,
}

/// The entries of the log in a window, as read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditLog {
    pub entries: Vec<AuditEntry>,
    /// Requests made for it.
    pub pages: usize,
    /// Entries without an `id` or `activityDateTime`, left out.
    pub not_understood: usize,
    /// Why the read stopped before the end of the window, when it did.
    pub incomplete: Option<String>,
}

/// A property an entry changed, as the finding shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyChange {
    pub name: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}

/// One audit entry that explains a finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    pub at: String,
    pub actor: Actor,
    pub activity: String,
    /// The changed properties that concern the finding: for an assignment,
    /// the attribute's old and new values; empty when the entry names none.
    pub changes: Vec<PropertyChange>,
}

/// What the audit log says about one finding: the newest entries, and how
/// many older ones there were.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FindingExplanation {
    pub entries: Vec<Explanation>,
    pub older: usize,
}

impl FindingExplanation {
    /// Takes `entry`, which makes `changes` to the finding: shown while
    /// fewer than `SHOWN_PER_FINDING` are, counted as older after that
    /// (entries come newest first).
    fn take(&mut self, entry: &AuditEntry, changes: Vec<PropertyChange>) {
        if self.entries.len() < SHOWN_PER_FINDING {
            self.entries.push(Explanation {
                at: entry.at.clone(),
                actor: entry.actor.clone(),
                activity: entry.activity.clone(),
                changes,
            });
        } else {
            self.older += 1;
        }
    }
}

/// The explanations of a plan's drift, by the finding's address; with the
/// start of the window read, so that a finding without an entry can say
/// "nothing in the log since ...". Empty when the log was not read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Explained {
    /// `None`: the log was not read (the plan's notes say why).
    pub since: Option<String>,
    pub by_address: BTreeMap<Address, FindingExplanation>,
}

impl Explained {
    /// What the log says about the finding at `address`: `None` when the
    /// log was not read.
    pub fn finding(&self, address: &Address) -> Option<ExplainedFinding<'_>> {
        let since = self.since.as_deref()?;
        Some(match self.by_address.get(address) {
            Some(found) if !found.entries.is_empty() => ExplainedFinding::Found(found),
            _ => ExplainedFinding::NothingSince(since),
        })
    }
}

/// One finding as the renderers show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExplainedFinding<'a> {
    Found(&'a FindingExplanation),
    /// The log holds no entry for it since this time.
    NothingSince(&'a str),
}

/// The explanations of `drift` by `entries`, read from `since` on. `live`
/// gives the object ids of the principals the findings name.
pub fn explain(drift: &[Drift], entries: &[AuditEntry], live: &LiveState, since: &str) -> Explained {
    let mut succeeded: Vec<&AuditEntry> = entries
        .iter()
        .filter(|entry| entry.result.as_deref().is_none_or(|result| result.eq_ignore_ascii_case("success")))
        .collect();
    // Newest first; the id breaks ties so the order never depends on the input's.
    succeeded.sort_by_cached_key(|entry| {
        (Reverse(instant(&entry.at)), Reverse(entry.at.clone()), entry.id.clone())
    });
    // The entries by every name their targets carry, and the principals by
    // every key a finding may name them with: the join costs the findings
    // plus the entries, not their product.
    let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
    for (position, entry) in succeeded.iter().enumerate() {
        for target in &entry.targets {
            for name in [&target.id, &target.display_name, &target.user_principal_name].into_iter().flatten()
            {
                by_name.entry(name.to_lowercase()).or_default().push(position);
            }
        }
    }
    let principals = PrincipalIndex::of(live);
    let known_attributes: Vec<String> = live.definitions.keys().map(|id| id.to_ascii_lowercase()).collect();
    let mut by_address = BTreeMap::new();
    for finding in drift {
        if by_address.contains_key(&finding.address) {
            continue;
        }
        let subject = Subject::of(&finding.address, &principals);
        let mut candidates: Vec<usize> = subject
            .names()
            .iter()
            .filter_map(|name| by_name.get(&name.to_lowercase()))
            .flatten()
            .copied()
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        let mut found = FindingExplanation::default();
        for entry in candidates.into_iter().map(|position| succeeded[position]) {
            let Some(changes) = subject.explained_by(entry, &known_attributes) else { continue };
            found.take(entry, changes);
        }
        if !found.entries.is_empty() {
            by_address.insert(finding.address.clone(), found);
        }
    }
    Explained { since: Some(since.to_owned()), by_address }
}

/// The principals read, by kind and every key a finding may name them with
/// (object id, UPN, appId; lower-cased): their object ids and UPN.
struct PrincipalIndex<'a>(HashMap<(PrincipalKind, String), Vec<&'a LivePrincipal>>);

impl<'a> PrincipalIndex<'a> {
    fn of(live: &'a LiveState) -> Self {
        let mut index: HashMap<(PrincipalKind, String), Vec<&LivePrincipal>> = HashMap::new();
        for principal in live.principals.values() {
            let keys = [
                Some(&principal.object_id),
                principal.user_principal_name.as_ref(),
                principal.app_id.as_ref(),
            ];
            for key in keys.into_iter().flatten() {
                index.entry((principal.kind, key.to_lowercase())).or_default().push(principal);
            }
        }
        PrincipalIndex(index)
    }

    /// The object ids and UPN of the principal `key` names, as read (and the
    /// key itself, which may be an object id the read did not hold).
    fn ids(&self, key: &PrincipalKey) -> (Vec<String>, Option<String>) {
        let wanted = key.key();
        let bare = wanted.strip_prefix("id:").unwrap_or(wanted);
        let mut object_ids = vec![bare.to_owned()];
        let mut user_principal_name = None;
        for principal in self.0.get(&(key.kind(), bare.to_lowercase())).into_iter().flatten() {
            object_ids.push(principal.object_id.clone());
            user_principal_name = user_principal_name.or_else(|| principal.user_principal_name.clone());
        }
        if user_principal_name.is_none() && matches!(key, PrincipalKey::User(_)) && wanted.contains('@') {
            user_principal_name = Some(wanted.to_owned());
        }
        (object_ids, user_principal_name)
    }
}

/// The instant of an `activityDateTime`, for ordering; `None` sorts last.
fn instant(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// What a finding is about, as the log would name it.
enum Subject {
    /// A principal's value: its object ids (a key may match more than one
    /// principal read, e.g. by UPN and by id), its UPN, the attribute.
    Value { object_ids: Vec<String>, user_principal_name: Option<String>, set: String, attribute: String },
    /// A set, definition or value: the names its target may carry.
    Object { names: Vec<String> },
    /// Nothing the log names (a group's entry).
    Nothing,
}

impl Subject {
    fn of(address: &Address, principals: &PrincipalIndex<'_>) -> Subject {
        match address {
            Address::AttributeSet { set } => Subject::Object { names: vec![set.to_ascii_lowercase()] },
            // No activity is documented for predefined values: the entries
            // of their definition are what the log can say about them.
            Address::Definition { set, attribute } | Address::AllowedValue { set, attribute, .. } => {
                Subject::Object {
                    names: vec![
                        definition_id(set, attribute).to_ascii_lowercase(),
                        format!("{set}.{attribute}").to_ascii_lowercase(),
                    ],
                }
            }
            Address::Assignment { principal, set, attribute } => {
                let (object_ids, user_principal_name) = principals.ids(principal);
                Subject::Value {
                    object_ids,
                    user_principal_name,
                    set: set.clone(),
                    attribute: attribute.clone(),
                }
            }
            Address::GroupAssignment { .. } => Subject::Nothing,
        }
    }

    /// The names an entry's target may carry for this subject.
    fn names(&self) -> Vec<&str> {
        match self {
            Subject::Nothing => Vec::new(),
            Subject::Object { names } => names.iter().map(String::as_str).collect(),
            Subject::Value { object_ids, user_principal_name, .. } => {
                object_ids.iter().map(String::as_str).chain(user_principal_name.as_deref()).collect()
            }
        }
    }

    /// The changes of `entry` that concern this subject, when it does.
    fn explained_by(&self, entry: &AuditEntry, known_attributes: &[String]) -> Option<Vec<PropertyChange>> {
        match self {
            Subject::Nothing => None,
            Subject::Object { names } => {
                let target = entry.targets.iter().find(|target| {
                    [&target.id, &target.display_name]
                        .into_iter()
                        .flatten()
                        .any(|name| names.iter().any(|wanted| name.eq_ignore_ascii_case(wanted)))
                })?;
                Some(
                    target
                        .modified
                        .iter()
                        .filter(|property| !is_bookkeeping(&property.name))
                        .map(property_change)
                        .collect(),
                )
            }
            Subject::Value { object_ids, user_principal_name, set, attribute } => {
                let target = entry.targets.iter().find(|target| {
                    target
                        .id
                        .as_ref()
                        .is_some_and(|id| object_ids.iter().any(|held| held.eq_ignore_ascii_case(id)))
                        || target
                            .user_principal_name
                            .as_ref()
                            .zip(user_principal_name.as_ref())
                            .is_some_and(|(named, held)| named.eq_ignore_ascii_case(held))
                })?;
                let this = [format!("{set}.{attribute}"), definition_id(set, attribute)];
                let named: Vec<&ModifiedProperty> = target
                    .modified
                    .iter()
                    .filter(|property| this.iter().any(|name| property.name.eq_ignore_ascii_case(name)))
                    .collect();
                if !named.is_empty() {
                    return Some(named.into_iter().map(property_change).collect());
                }
                // An entry that names other attributes of the principal does
                // not explain this one; one that names none might.
                let names_another = target.modified.iter().any(|property| {
                    let name = property.name.to_ascii_lowercase().replacen('.', "_", 1);
                    known_attributes.contains(&name)
                });
                (!names_another).then(Vec::new)
            }
        }
    }
}

/// `Included Updated Properties` lists the names of the others: not a change of its own.
fn is_bookkeeping(name: &str) -> bool {
    name.eq_ignore_ascii_case("Included Updated Properties")
}

fn property_change(property: &ModifiedProperty) -> PropertyChange {
    PropertyChange {
        name: property.name.clone(),
        old_value: property.old_value.clone(),
        new_value: property.new_value.clone(),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::model::live::LivePrincipal;

    const ALICE: &str = "aaaaaaaa-0000-0000-0000-000000000001";

    fn live() -> LiveState {
        let mut live = LiveState::default();
        let alice = LivePrincipal {
            kind: PrincipalKind::User,
            object_id: ALICE.into(),
            user_principal_name: Some("alice@contoso.com".into()),
            app_id: None,
            display_name: None,
            odata_type: None,
            custom_security_attributes: None,
        };
        live.principals.insert(alice.id(), alice);
        for name in ["Project", "Level"] {
            live.definitions.insert(
                definition_id("Engineering", name),
                crate::model::Definition::with_defaults("Engineering", name, crate::model::DataType::String),
            );
        }
        live
    }

    fn value_entry(id: &str, at: &str, actor: Actor, target: &str, property: &str) -> AuditEntry {
        AuditEntry {
            id: id.into(),
            at: at.into(),
            activity: "Update attribute values assigned to a user".into(),
            result: Some("success".into()),
            actor,
            targets: vec![AuditTarget {
                id: Some(target.into()),
                kind: Some("User".into()),
                user_principal_name: None,
                display_name: None,
                modified: vec![ModifiedProperty {
                    name: property.into(),
                    old_value: Some("[\"Alpine\"]".into()),
                    new_value: Some("[\"Baker\"]".into()),
                }],
            }],
        }
    }

    fn bob() -> Actor {
        Actor::User { user_principal_name: Some("bob@contoso.com".into()), id: None, display_name: None }
    }

    fn drift_on(attribute: &str) -> Drift {
        Drift {
            address: Address::Assignment {
                principal: PrincipalKey::User("alice@contoso.com".into()),
                set: "Engineering".into(),
                attribute: attribute.into(),
            },
            message: "tenant: [\"Baker\"]; files: [\"Alpine\"]".into(),
        }
    }

    #[test]
    fn a_value_change_is_explained_by_its_principal_and_attribute_newest_first() {
        let entries = vec![
            value_entry("1", "2026-12-01T08:00:00Z", bob(), ALICE, "Engineering.Project"),
            value_entry("2", "2026-12-03T08:00:00.5Z", bob(), ALICE, "Engineering.Project"),
            // Another attribute of the same principal: not this finding's.
            value_entry("3", "2026-12-04T08:00:00Z", bob(), ALICE, "Engineering.Level"),
            // Another principal.
            value_entry(
                "4",
                "2026-12-05T08:00:00Z",
                bob(),
                "bbbbbbbb-0000-0000-0000-000000000002",
                "Engineering.Project",
            ),
        ];
        let drift = [drift_on("Project")];
        let explained = explain(&drift, &entries, &live(), "2026-11-30T00:00:00Z");
        let found = &explained.by_address[&drift[0].address];
        let at: Vec<&str> = found.entries.iter().map(|entry| entry.at.as_str()).collect();
        assert_eq!(at, ["2026-12-03T08:00:00.5Z", "2026-12-01T08:00:00Z"]);
        assert_eq!(found.entries[0].changes[0].new_value.as_deref(), Some("[\"Baker\"]"));
        assert_eq!(found.entries[0].actor.words(), "user bob@contoso.com");
    }

    #[test]
    fn an_entry_that_names_no_known_attribute_is_shown_without_values_and_failures_are_not() {
        let mut unnamed = value_entry("1", "2026-12-01T08:00:00Z", bob(), ALICE, "TargetId.UserType");
        unnamed.targets[0].id = None;
        unnamed.targets[0].user_principal_name = Some("ALICE@contoso.com".into());
        let mut failed = value_entry("2", "2026-12-02T08:00:00Z", bob(), ALICE, "Engineering.Project");
        failed.result = Some("failure".into());
        let drift = [drift_on("Project")];
        let explained = explain(&drift, &[unnamed, failed], &live(), "2026-11-30T00:00:00Z");
        let found = &explained.by_address[&drift[0].address];
        assert_eq!(found.entries.len(), 1);
        assert!(found.entries[0].changes.is_empty());
    }

    #[test]
    fn a_finding_without_entries_says_since_when_and_an_unread_log_says_nothing() {
        let drift = [drift_on("Project")];
        let explained = explain(&drift, &[], &live(), "2026-11-30T00:00:00Z");
        assert_eq!(
            explained.finding(&drift[0].address),
            Some(ExplainedFinding::NothingSince("2026-11-30T00:00:00Z"))
        );
        assert_eq!(Explained::default().finding(&drift[0].address), None);
    }

    #[test]
    fn definitions_are_matched_by_target_id_or_name_and_bookkeeping_is_left_out() {
        let entry = AuditEntry {
            id: "d".into(),
            at: "2026-12-01T08:00:00Z".into(),
            activity: "Update custom security attribute definition in an attribute set".into(),
            result: None,
            actor: Actor::App {
                display_name: Some("HR sync".into()),
                app_id: Some("1111".into()),
                service_principal_id: None,
            },
            targets: vec![AuditTarget {
                display_name: Some("engineering_project".into()),
                modified: vec![
                    ModifiedProperty {
                        name: "Status".into(),
                        old_value: Some("\"Available\"".into()),
                        new_value: Some("\"Deprecated\"".into()),
                    },
                    ModifiedProperty {
                        name: "Included Updated Properties".into(),
                        old_value: None,
                        new_value: Some("\"Status\"".into()),
                    },
                ],
                ..AuditTarget::default()
            }],
        };
        let drift = [
            Drift {
                address: Address::Definition { set: "Engineering".into(), attribute: "Project".into() },
                message: String::new(),
            },
            Drift { address: Address::AttributeSet { set: "Engineering".into() }, message: String::new() },
        ];
        let explained = explain(&drift, &[entry], &live(), "2026-11-30T00:00:00Z");
        let found = &explained.by_address[&drift[0].address];
        assert_eq!(found.entries[0].changes.len(), 1);
        assert_eq!(found.entries[0].actor.words(), "app HR sync (appId 1111)");
        assert!(!explained.by_address.contains_key(&drift[1].address));
    }

    fn arbitrary_entry() -> impl Strategy<Value = AuditEntry> {
        (0u8..4, 0u8..3, 1u32..28, 0u32..24, any::<bool>()).prop_map(|(target, property, day, hour, ok)| {
            let target = format!("aaaaaaaa-0000-0000-0000-00000000000{target}");
            let property = ["Engineering.Project", "Engineering.Level", "Other.Thing"][usize::from(property)];
            let mut entry =
                value_entry("x", &format!("2026-11-{day:02}T{hour:02}:00:00Z"), bob(), &target, property);
            entry.id = format!("{day}-{hour}-{target}-{property}");
            if !ok {
                entry.result = Some("failure".into());
            }
            entry
        })
    }

    /// The join without its indexes: every entry against every finding.
    fn by_brute_force(
        drift: &[Drift],
        entries: &[AuditEntry],
        live: &LiveState,
    ) -> BTreeMap<Address, FindingExplanation> {
        let mut succeeded: Vec<&AuditEntry> =
            entries.iter().filter(|entry| entry.result.as_deref() != Some("failure")).collect();
        succeeded.sort_by_cached_key(|entry| {
            (Reverse(instant(&entry.at)), Reverse(entry.at.clone()), entry.id.clone())
        });
        let principals = PrincipalIndex::of(live);
        let known: Vec<String> = live.definitions.keys().map(|id| id.to_ascii_lowercase()).collect();
        let mut out = BTreeMap::new();
        for finding in drift {
            let subject = Subject::of(&finding.address, &principals);
            let mut found = FindingExplanation::default();
            for entry in &succeeded {
                let Some(changes) = subject.explained_by(entry, &known) else { continue };
                found.take(entry, changes);
            }
            if !found.entries.is_empty() {
                out.insert(finding.address.clone(), found);
            }
        }
        out
    }

    fn many_users(count: usize) -> LiveState {
        let mut live = live();
        for index in 0..count {
            let user = LivePrincipal {
                kind: PrincipalKind::User,
                object_id: format!("00000000-0000-0000-0000-{index:012}"),
                user_principal_name: Some(format!("user{index}@contoso.com")),
                app_id: None,
                display_name: None,
                odata_type: None,
                custom_security_attributes: None,
            };
            live.principals.insert(user.id(), user);
        }
        live
    }

    proptest! {
        /// At a realistic size (hundreds of principals, findings named by
        /// UPN or object id in any case, entries naming their target by id
        /// or UPN only), the indexed join finds exactly what comparing every
        /// entry with every finding finds.
        #[test]
        fn the_indexed_join_is_the_brute_force_join(
            findings in proptest::collection::vec((0usize..300, any::<bool>(), any::<bool>(), 0u8..2), 1..60),
            logged in proptest::collection::vec(
                (0usize..300, any::<bool>(), any::<bool>(), 0u8..3, 1u32..28, 0u32..24), 0..400),
        ) {
            let live = many_users(300);
            let drift: Vec<Drift> = findings.iter().map(|&(user, by_upn, upper, attribute)| {
                let key = if by_upn { format!("user{user}@contoso.com") } else { format!("00000000-0000-0000-0000-{user:012}") };
                Drift {
                    address: Address::Assignment {
                        principal: PrincipalKey::User(if upper { key.to_uppercase() } else { key }),
                        set: "Engineering".into(),
                        attribute: ["Project", "Level"][usize::from(attribute)].into(),
                    },
                    message: String::new(),
                }
            }).collect();
            let entries: Vec<AuditEntry> = logged.iter().enumerate().map(|(at, &(user, by_id, upper, property, day, hour))| {
                let property = ["Engineering.Project", "engineering_level", "TargetId.UserType"][usize::from(property)];
                let mut entry = value_entry(&format!("{at}"), &format!("2026-11-{day:02}T{hour:02}:00:00Z"), bob(),
                    &format!("00000000-0000-0000-0000-{user:012}"), property);
                if !by_id {
                    entry.targets[0].id = None;
                    let upn = format!("user{user}@contoso.com");
                    entry.targets[0].user_principal_name = Some(if upper { upn.to_uppercase() } else { upn });
                }
                entry
            }).collect();
            let explained = explain(&drift, &entries, &live, "2026-11-01T00:00:00Z");
            prop_assert_eq!(explained.by_address, by_brute_force(&drift, &entries, &live));
        }

        /// Whatever the log holds and in whatever order: every explanation
        /// is a successful entry on the finding's principal that does not
        /// name another known attribute; at most `SHOWN_PER_FINDING` are
        /// shown, newest first, and shown plus older counts every such entry.
        #[test]
        fn explanations_are_the_matching_successes_newest_first(
            entries in proptest::collection::vec(arbitrary_entry(), 0..40),
        ) {
            let drift = [drift_on("Project")];
            let explained = explain(&drift, &entries, &live(), "2026-11-01T00:00:00Z");
            let matching = entries.iter().filter(|entry| {
                entry.result.as_deref() == Some("success")
                    && entry.targets[0].id.as_deref() == Some(ALICE)
                    && entry.targets[0].modified[0].name != "Engineering.Level"
            }).count();
            let found = explained.by_address.get(&drift[0].address).cloned().unwrap_or_default();
            prop_assert_eq!(found.entries.len() + found.older, matching);
            prop_assert!(found.entries.len() <= SHOWN_PER_FINDING);
            let times: Vec<OffsetDateTime> = found.entries.iter().map(|entry| instant(&entry.at).unwrap()).collect();
            prop_assert!(times.windows(2).all(|pair| pair[0] >= pair[1]));
            let mut reversed = entries.clone();
            reversed.reverse();
            prop_assert_eq!(explain(&drift, &reversed, &live(), "2026-11-01T00:00:00Z"), explained);
        }
    }
}
