//! The rules of the file format that need no tenant (ARCHITECTURE.md,
//! "The desired-state file"): from the files as written
//! (`ManifestFile`s) to one `DesiredState`, or every problem found.
//!
//! Limits that need the tenant (500 sets, 500 active definitions,
//! `maxAttributesPerSet` against live definitions) are the plan's business.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashSet};

use crate::desired::diagnostic::{Diagnostic, Diagnostics, Place};
use crate::desired::manifest::{
    AssignedValue, AttributeSpec, Entries, GroupSpec, Located, ManifestFile, SetSpec, join,
};
use crate::desired::yaml::Position;
use crate::model::{
    AllowedValue, AttributeSet, AttributeValue, DataType, Definition, DesiredState, GroupAssignments,
    MAX_ALLOWED_VALUES, MAX_ASSIGNED_VALUES, MAX_ATTRIBUTE_SETS, MAX_DESCRIPTION_LEN, MAX_NAME_LEN,
    MAX_VALUE_LEN, Policy, PrincipalAssignments, PrincipalKey, SetValues, Status, is_guid,
};

/// The characters Graph forbids in set and attribute names (besides whitespace).
pub const FORBIDDEN_NAME_CHARACTERS: &str = "`~!@#$%^&*()_-+={[}]|\\:;\"'<,>.?/";

/// Graph's limit on the characters of a group's display name.
pub const MAX_GROUP_NAME_LEN: usize = 256;

/// Validates the files (name, contents as read) together into one desired state.
pub fn validate(files: &[(String, ManifestFile)]) -> Result<DesiredState, Diagnostics> {
    let mut validator = Validator::default();
    for (file, manifest) in files {
        validator.file(file, manifest);
    }
    validator.assignments(files);
    crate::desired::acknowledged::gather(files, &mut validator.desired, &mut validator.problems);
    crate::desired::acknowledged::gather_references(files, &mut validator.desired, &mut validator.problems);
    crate::desired::requirements::gather(
        files,
        &mut validator.desired,
        &validator.refused,
        &mut validator.problems,
    );
    if validator.problems.is_empty() {
        Ok(validator.desired)
    } else {
        let mut diagnostics = Diagnostics(validator.problems);
        diagnostics.sort();
        Err(diagnostics)
    }
}

#[derive(Default)]
struct Validator {
    desired: DesiredState,
    problems: Vec<Diagnostic>,
    /// Where each set was declared, by lowercase id (Graph may compare ids case-insensitively).
    set_places: BTreeMap<String, (String, Place)>,
    policy_place: Option<Place>,
    /// Sets (with an empty attribute) and attributes the files declare but
    /// that were refused for a problem already reported: assigning them is
    /// not reported again as "not declared".
    refused: BTreeSet<(String, String)>,
    /// The principal keys declared so far, by kind and lowercased key.
    principal_keys: HashSet<(&'static str, String)>,
    /// Where each `valuesOwnedBy` is written, by `Set` or `Set.Attribute`.
    owner_places: BTreeMap<String, Place>,
}

/// Where the files first declare the principal `key` of `kind` (`users` or
/// `servicePrincipals`), ignoring case, and how they spell it there. Looked up only when a principal is declared twice,
/// so that validation keeps no place per principal.
fn first_declaration(files: &[(String, ManifestFile)], kind: &str, key: &str) -> Option<(String, Place)> {
    files.iter().find_map(|(file, manifest)| {
        let assignments = manifest.assignments.as_ref()?;
        let names: Vec<&Located<String>> = match kind {
            "users" => assignments.users.0.iter().map(|(name, _)| name).collect(),
            "groups" => assignments.groups.0.iter().map(|(name, _)| name).collect(),
            _ => assignments.service_principals.0.iter().map(|(name, _)| name).collect(),
        };
        names
            .into_iter()
            .find(|name| match kind {
                "groups" => crate::model::same_display_name(&name.value, key),
                _ => name.value.eq_ignore_ascii_case(key),
            })
            .map(|name| (name.value.clone(), place(file, name.at)))
    })
}

/// Where an assigned value is (`assignments.users.alice@contoso.com.Eng.Project[0]`),
/// spelled out only when a problem is reported there: most values have none.
#[derive(Clone, Copy)]
struct ValuePath<'a> {
    kind: &'a str,
    principal: &'a str,
    set: Option<&'a str>,
    attribute: Option<&'a str>,
    index: Option<usize>,
}

impl ValuePath<'_> {
    fn render(&self) -> String {
        let mut path = format!("assignments.{}.{}", self.kind, self.principal);
        for part in [self.set, self.attribute].into_iter().flatten() {
            path.push('.');
            path.push_str(part);
        }
        if let Some(index) = self.index {
            path.push_str(&format!("[{index}]"));
        }
        path
    }
}

fn place(file: &str, at: Position) -> Place {
    Place { file: file.to_owned(), line: at.line, column: at.column }
}

impl Validator {
    fn report(
        &mut self,
        file: &str,
        at: Position,
        path: &str,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        self.problems.push(Diagnostic::new(place(file, at), path, message));
        self.problems.last_mut().expect("just pushed")
    }

    fn file(&mut self, file: &str, manifest: &ManifestFile) {
        if let Some(policy) = &manifest.policy {
            let here = place(file, policy.at);
            match &self.policy_place {
                Some(first) => {
                    let first = first.clone();
                    self.report(file, policy.at, "policy", "`policy` is declared twice").related =
                        Some(first);
                    self.problems.last_mut().expect("just pushed").suggestion =
                        Some("declare `policy` in one file only".to_owned());
                }
                None => {
                    self.policy_place = Some(here);
                    self.desired.policy = Policy {
                        undeclared_definitions: policy.value.undeclared_definitions,
                        undeclared_values: policy.value.undeclared_values,
                        undeclared_assignments: policy.value.undeclared_assignments,
                    };
                }
            }
        }
        for (name, set) in &manifest.attribute_sets.0 {
            self.set(file, name, set);
        }
        if self.desired.attribute_sets.len() > MAX_ATTRIBUTE_SETS
            && let Some((name, _)) = manifest.attribute_sets.0.last()
        {
            self.report(
                file,
                name.at,
                "attributeSets",
                format!("the files declare {} attribute sets", self.desired.attribute_sets.len()),
            )
            .expected = Some(format!("at most {MAX_ATTRIBUTE_SETS} (Graph's limit per tenant)"));
        }
    }

    /// Checks a set or attribute name; returns whether it is valid.
    fn name(&mut self, file: &str, name: &Located<String>, path: &str, what: &str) -> bool {
        let text = &name.value;
        let expected = "up to 32 characters, letters and digits only (no spaces, no `_` or other special characters), not starting with a digit";
        let problem = if text.is_empty() {
            Some(format!("the {what} name is empty"))
        } else if text.chars().count() > MAX_NAME_LEN {
            Some(format!("the {what} name `{text}` has {} characters", text.chars().count()))
        } else if let Some(bad) =
            text.chars().find(|c| c.is_whitespace() || FORBIDDEN_NAME_CHARACTERS.contains(*c))
        {
            Some(format!("the {what} name `{text}` contains {}", describe_char(bad)))
        } else if text.chars().next().is_some_and(|c| c.is_numeric()) {
            Some(format!("the {what} name `{text}` starts with a digit"))
        } else {
            None
        };
        match problem {
            None => true,
            Some(message) => {
                let cleaned: String = text
                    .chars()
                    .filter(|c| !c.is_whitespace() && !FORBIDDEN_NAME_CHARACTERS.contains(*c))
                    .collect();
                let diagnostic = self.report(file, name.at, path, message);
                diagnostic.expected = Some(expected.to_owned());
                if !cleaned.is_empty() && cleaned != *text && !cleaned.starts_with(|c: char| c.is_numeric()) {
                    diagnostic.suggestion = Some(format!("try `{}`", truncate(&cleaned, MAX_NAME_LEN)));
                }
                false
            }
        }
    }

    fn description(
        &mut self,
        file: &str,
        description: &Option<Located<String>>,
        path: &str,
    ) -> Option<String> {
        let description = description.as_ref()?;
        let length = description.value.chars().count();
        if length > MAX_DESCRIPTION_LEN {
            self.report(
                file,
                description.at,
                &join(path, "description"),
                format!("the description has {length} characters"),
            )
            .expected = Some(format!("at most {MAX_DESCRIPTION_LEN} characters"));
        }
        Some(description.value.clone())
    }

    fn set(&mut self, file: &str, name: &Located<String>, set: &SetSpec) {
        let path = join("attributeSets", &name.value);
        let name_ok = self.name(file, name, &path, "attribute set");
        let key = name.value.to_lowercase();
        if let Some((first_name, first)) = self.set_places.get(&key).cloned() {
            let message = if first_name == name.value {
                format!("attribute set `{}` is declared twice", name.value)
            } else {
                format!("attribute set `{}` differs only in case from `{first_name}`", name.value)
            };
            let diagnostic = self.report(file, name.at, &path, message);
            diagnostic.related = Some(first);
            diagnostic.suggestion = Some(if first_name == name.value {
                "declare each attribute set in one place; split sets over files, not one set".to_owned()
            } else {
                "Graph may treat set ids case-insensitively: use one spelling".to_owned()
            });
            return;
        }
        self.set_places.insert(key, (name.value.clone(), place(file, name.at)));

        let description = self.description(file, &set.description, &path);
        let max_attributes_per_set = set.max_attributes_per_set.as_ref().and_then(|max| {
            if (1..=500).contains(&max.value) {
                Some(max.value as i32)
            } else {
                self.report(
                    file,
                    max.at,
                    &join(&path, "maxAttributesPerSet"),
                    format!("maxAttributesPerSet is {}", max.value),
                )
                .expected = Some("a number from 1 to 500".to_owned());
                None
            }
        });
        // maxAttributesPerSet against the set's definitions is checked at plan time,
        // where the tenant's own definitions count too.

        let mut attributes = BTreeMap::new();
        for unreadable in &set.unreadable_attributes {
            self.refused.insert((name.value.clone(), unreadable.clone()));
        }
        let mut lowercase: BTreeMap<String, (String, Place)> = BTreeMap::new();
        for (attribute_name, spec) in &set.attributes.0 {
            let attribute_path = join(&join(&path, "attributes"), &attribute_name.value);
            let attribute_ok = self.name(file, attribute_name, &attribute_path, "attribute");
            if let Some((first_name, first)) = lowercase.get(&attribute_name.value.to_lowercase()).cloned() {
                let diagnostic = self.report(
                    file,
                    attribute_name.at,
                    &attribute_path,
                    format!("attribute `{}` differs only in case from `{first_name}`", attribute_name.value),
                );
                diagnostic.related = Some(first);
                diagnostic.suggestion =
                    Some("Graph may treat attribute names case-insensitively: use one spelling".to_owned());
                continue;
            }
            lowercase.insert(
                attribute_name.value.to_lowercase(),
                (attribute_name.value.clone(), place(file, attribute_name.at)),
            );
            if let Some(definition) =
                self.attribute(file, &name.value, &attribute_name.value, spec, &attribute_path)
                && attribute_ok
            {
                attributes.insert(attribute_name.value.clone(), definition);
            } else {
                self.refused.insert((name.value.clone(), attribute_name.value.clone()));
            }
        }
        if let Some(writer) = &set.values_owned_by {
            self.owned_elsewhere(file, name.value.clone(), writer);
        }
        for (attribute_name, spec) in &set.attributes.0 {
            if let Some(writer) = &spec.values_owned_by {
                self.owned_elsewhere(file, format!("{}.{}", name.value, attribute_name.value), writer);
            }
        }
        if !name_ok {
            self.refused.insert((name.value.clone(), String::new()));
        }
        if name_ok {
            self.desired.attribute_sets.insert(
                name.value.clone(),
                AttributeSet { id: name.value.clone(), description, max_attributes_per_set, attributes },
            );
        }
    }

    /// Records that `owned` (`Set` or `Set.Attribute`) has its values
    /// written by `writer`, not by the files.
    fn owned_elsewhere(&mut self, file: &str, owned: String, writer: &Located<String>) {
        self.owner_places.insert(owned.clone(), place(file, writer.at));
        self.desired.values_owned_elsewhere.insert(owned, writer.value.trim().to_owned());
    }

    /// Reports a value the files assign though another writer owns it.
    fn assigned_elsewhere_owned(&mut self, file: &str, at: Position, path: &str, owned: &str, what: &str) {
        let writer = self.desired.values_owned_elsewhere[owned].clone();
        let related = self.owner_places.get(owned).cloned();
        let diagnostic = self.report(
            file,
            at,
            path,
            format!(
                "{what} has its values owned by {writer} (`valuesOwnedBy`), so the files cannot assign it"
            ),
        );
        diagnostic.related = related;
        diagnostic.expected = Some("no values for an attribute another writer owns".to_owned());
        diagnostic.suggestion = Some(format!(
            "remove it here and let {writer} assign it, or remove `valuesOwnedBy` to manage its values in the files"
        ));
    }

    fn attribute(
        &mut self,
        file: &str,
        set: &str,
        name: &str,
        spec: &AttributeSpec,
        path: &str,
    ) -> Option<Definition> {
        let data_type = spec.data_type.value;
        let description = self.description(file, &spec.description, path);
        let is_collection = spec.is_collection.as_ref().is_some_and(|flag| flag.value);
        let use_pre_defined_values_only =
            spec.use_pre_defined_values_only.as_ref().is_some_and(|flag| flag.value);
        if data_type == DataType::Boolean {
            if let Some(flag) = spec.is_collection.as_ref().filter(|flag| flag.value) {
                self.report(
                    file,
                    flag.at,
                    &join(path, "isCollection"),
                    "a Boolean attribute cannot be a collection",
                )
                .expected = Some("isCollection: false (or leave it out)".to_owned());
            }
            if let Some(flag) = spec.use_pre_defined_values_only.as_ref().filter(|flag| flag.value) {
                self.report(
                    file,
                    flag.at,
                    &join(path, "usePreDefinedValuesOnly"),
                    "a Boolean attribute cannot be restricted to predefined values",
                )
                .expected = Some("usePreDefinedValuesOnly: false (or leave it out)".to_owned());
            }
            if let Some(first) = spec.allowed_values.first() {
                self.report(
                    file,
                    first.value().at,
                    &join(path, "allowedValues"),
                    "a Boolean attribute takes no predefined values",
                )
                .suggestion = Some("remove `allowedValues`; a Boolean is true or false".to_owned());
            }
        }
        if spec.allowed_values.len() > MAX_ALLOWED_VALUES {
            let at = spec.allowed_values[MAX_ALLOWED_VALUES].value().at;
            self.report(
                file,
                at,
                &join(path, "allowedValues"),
                format!("{} allowed values are declared", spec.allowed_values.len()),
            )
            .expected = Some(format!("at most {MAX_ALLOWED_VALUES} per attribute (Graph's limit)"));
        }
        let mut allowed_values: Vec<AllowedValue> = Vec::new();
        let mut seen: BTreeMap<String, Place> = BTreeMap::new();
        for (index, allowed) in spec.allowed_values.iter().enumerate() {
            let value = allowed.value();
            let value_path = format!("{}[{index}]", join(path, "allowedValues"));
            let text = &value.value.text;
            if let Some(first) = seen.get(text).cloned() {
                self.report(file, value.at, &value_path, format!("allowed value `{text}` is listed twice"))
                    .related = Some(first);
                continue;
            }
            seen.insert(text.clone(), place(file, value.at));
            match data_type {
                DataType::Integer if text.parse::<i32>().is_ok_and(|number| number.to_string() != *text) => {
                    // Graph compares values as text: `01` or `+2` never matches 1 or 2.
                    let canonical = text.parse::<i32>().map(|number| number.to_string()).unwrap_or_default();
                    let diagnostic = self.report(
                        file,
                        value.at,
                        &value_path,
                        format!("allowed value `{text}` is not written as the integer it means"),
                    );
                    diagnostic.expected = Some("an integer without leading zeros or `+`".to_owned());
                    diagnostic.suggestion = Some(format!("write it as `{canonical}`"));
                }
                DataType::Integer if text.parse::<i32>().is_err() => {
                    self.report(
                        file,
                        value.at,
                        &value_path,
                        format!("allowed value `{text}` is not a 32-bit integer"),
                    )
                    .expected = Some("an integer, for an Integer attribute".to_owned());
                }
                DataType::String if value.value.integer => {
                    self.report(file, value.at, &value_path, format!("allowed value {text} is an integer"))
                        .suggestion = Some(format!("quote it (`\"{text}\"`) for a String attribute"));
                }
                _ => {}
            }
            if text.is_empty() || text.chars().count() > MAX_VALUE_LEN {
                self.report(
                    file,
                    value.at,
                    &value_path,
                    format!("allowed value has {} characters", text.chars().count()),
                )
                .expected = Some(format!("1 to {MAX_VALUE_LEN} characters"));
            }
            allowed_values.push(AllowedValue { id: text.clone(), is_active: allowed.active() });
        }
        allowed_values.sort_by(|a, b| a.id.cmp(&b.id));
        Some(Definition {
            attribute_set: set.to_owned(),
            name: name.to_owned(),
            description,
            data_type,
            is_collection,
            is_searchable: spec.is_searchable.as_ref().is_none_or(|flag| flag.value),
            use_pre_defined_values_only,
            status: spec.status.as_ref().map_or(Status::Available, |status| status.value),
            allowed_values,
        })
    }

    fn assignments(&mut self, files: &[(String, ManifestFile)]) {
        // The declared sets, borrowed while problems are recorded (put back below).
        let declared_sets = std::mem::take(&mut self.desired.attribute_sets);
        for (file, manifest) in files {
            let Some(assignments) = &manifest.assignments else { continue };
            for (kind, principals) in
                [("users", &assignments.users), ("servicePrincipals", &assignments.service_principals)]
            {
                for (key, sets) in &principals.0 {
                    let path =
                        ValuePath { kind, principal: &key.value, set: None, attribute: None, index: None };
                    let principal = match kind {
                        "users" => PrincipalKey::User(key.value.clone()),
                        _ => PrincipalKey::ServicePrincipal(key.value.clone()),
                    };
                    if !self.principal_key(file, key, &principal, path) {
                        continue;
                    }
                    // UPNs, object ids and appIds are case-insensitive in Entra:
                    // keys differing only in case name one principal.
                    if !self.principal_keys.insert((kind, key.value.to_ascii_lowercase())) {
                        let first = first_declaration(files, kind, &key.value);
                        let message = match &first {
                            Some((first_key, _)) if *first_key != key.value => format!(
                                "{principal} differs only in case from `{first_key}`, which names the same \
                                 principal"
                            ),
                            _ => format!("{principal} is declared twice"),
                        };
                        let diagnostic = self.report(file, key.at, &path.render(), message);
                        diagnostic.related = first.map(|(_, place)| place);
                        diagnostic.suggestion =
                            Some("declare each principal's values in one place, under one key".to_owned());
                        continue;
                    }
                    let values = self.principal_values(&declared_sets, file, key, sets, path);
                    self.desired.assignments.insert(principal, values);
                }
            }
            for (key, group) in &assignments.groups.0 {
                self.group(&declared_sets, files, file, key, group);
            }
        }
        self.desired.attribute_sets = declared_sets;
    }

    /// A group entry: its key (an object id, or a display name that the
    /// plan resolves), its values as for a principal, and the attributes it
    /// is authoritative for.
    fn group(
        &mut self,
        declared_sets: &BTreeMap<String, AttributeSet>,
        files: &[(String, ManifestFile)],
        file: &str,
        key: &Located<String>,
        group: &GroupSpec,
    ) {
        let path =
            ValuePath { kind: "groups", principal: &key.value, set: None, attribute: None, index: None };
        let name = key.value.trim();
        if name.is_empty() || name.chars().count() > MAX_GROUP_NAME_LEN || name != key.value {
            let diagnostic =
                self.report(file, key.at, &path.render(), format!("`{}` does not name a group", key.value));
            diagnostic.expected = Some(format!(
                "a group's object id (a GUID), or its display name (1 to {MAX_GROUP_NAME_LEN} characters,                  no leading or trailing spaces)"
            ));
            return;
        }
        // Object ids compare ignoring case; display names fold over all of
        // Unicode (`model::display_name_fold`), so `Ärzte` and `ärzte` are
        // one key, as the state file and the Graph path read them.
        if !self.principal_keys.insert(("groups", crate::model::display_name_fold(&key.value))) {
            let first = first_declaration(files, "groups", &key.value);
            let message = match &first {
                Some((first_key, _)) if *first_key != key.value => {
                    format!(
                        "group `{}` differs only in case from `{first_key}`, which names the same group",
                        key.value
                    )
                }
                _ => format!("group `{}` is declared twice", key.value),
            };
            let diagnostic = self.report(file, key.at, &path.render(), message);
            diagnostic.related = first.map(|(_, place)| place);
            diagnostic.suggestion =
                Some("declare each group's values in one place, under one key".to_owned());
            return;
        }
        let values = self.principal_values(declared_sets, file, key, &group.sets, path);
        let authoritative = group
            .authoritative
            .iter()
            .filter(|(set, attribute, _)| {
                values.get(set).is_some_and(|values| values.contains_key(attribute))
            })
            .map(|(set, attribute, _)| format!("{set}.{attribute}"))
            .collect();
        self.desired.group_assignments.insert(key.value.clone(), GroupAssignments { values, authoritative });
    }

    /// Users: a userPrincipalName or a GUID; service principals: an appId GUID or `id:<GUID>`.
    fn principal_key(
        &mut self,
        file: &str,
        key: &Located<String>,
        principal: &PrincipalKey,
        path: ValuePath<'_>,
    ) -> bool {
        let text = &key.value;
        let problem = match principal {
            PrincipalKey::User(_) if is_guid(text) => None,
            PrincipalKey::User(_) if text.contains('@') && !text.contains(char::is_whitespace) => None,
            PrincipalKey::User(_) => Some("a userPrincipalName (name@domain) or an object id (a GUID)"),
            PrincipalKey::ServicePrincipal(_) if is_guid(text) => None,
            PrincipalKey::ServicePrincipal(_) if text.strip_prefix("id:").is_some_and(is_guid) => None,
            PrincipalKey::ServicePrincipal(_) => Some("an appId (a GUID) or `id:<object id>`"),
        };
        match problem {
            None => true,
            Some(expected) => {
                let diagnostic =
                    self.report(file, key.at, &path.render(), format!("`{text}` does not name a principal"));
                diagnostic.expected = Some(expected.to_owned());
                if matches!(principal, PrincipalKey::ServicePrincipal(_)) && !text.contains('@') {
                    diagnostic.suggestion =
                        Some("service principals are keyed by appId, not by display name".to_owned());
                }
                false
            }
        }
    }

    fn principal_values(
        &mut self,
        declared_sets: &BTreeMap<String, AttributeSet>,
        file: &str,
        key: &Located<String>,
        sets: &Entries<Entries<Located<AssignedValue>>>,
        path: ValuePath<'_>,
    ) -> PrincipalAssignments {
        let mut result = PrincipalAssignments::with_capacity(sets.0.len());
        let mut total = 0usize;
        for (set_name, attributes) in &sets.0 {
            let set_path = ValuePath { set: Some(&set_name.value), ..path };
            let Some(set) = declared_sets.get(&set_name.value) else {
                if self.refused.contains(&(set_name.value.clone(), String::new())) {
                    continue; // its own problem is reported where it is declared
                }
                let known: Vec<&str> = declared_sets.keys().map(String::as_str).collect();
                let suggestion = crate::desired::diagnostic::nearest(&set_name.value, known.iter().copied())
                    .map(|name| format!("did you mean `{name}`?"));
                let diagnostic = self.report(
                    file,
                    set_name.at,
                    &set_path.render(),
                    format!("attribute set `{}` is not declared in the files", set_name.value),
                );
                diagnostic.suggestion = suggestion.or(Some("declare it under `attributeSets`".to_owned()));
                continue;
            };
            if self.desired.values_owned_elsewhere.contains_key(&set_name.value) {
                let what = format!("attribute set `{}`", set_name.value);
                self.assigned_elsewhere_owned(file, set_name.at, &set_path.render(), &set_name.value, &what);
                continue;
            }
            let mut values = SetValues::with_capacity(attributes.0.len());
            for (attribute_name, value) in &attributes.0 {
                let value_path = ValuePath { attribute: Some(&attribute_name.value), ..set_path };
                if !self.desired.values_owned_elsewhere.is_empty()
                    && let owned = format!("{}.{}", set_name.value, attribute_name.value)
                    && self.desired.values_owned_elsewhere.contains_key(&owned)
                {
                    let what = format!("attribute `{owned}`");
                    self.assigned_elsewhere_owned(
                        file,
                        attribute_name.at,
                        &value_path.render(),
                        &owned,
                        &what,
                    );
                    continue;
                }
                let Some(definition) = set.attributes.get(&attribute_name.value) else {
                    if self.refused.contains(&(set_name.value.clone(), attribute_name.value.clone())) {
                        continue; // its own problem is reported where it is declared
                    }
                    let suggestion = crate::desired::diagnostic::nearest(
                        &attribute_name.value,
                        set.attributes.keys().map(String::as_str),
                    )
                    .map(|name| format!("did you mean `{name}`?"));
                    let diagnostic = self.report(
                        file,
                        attribute_name.at,
                        &value_path.render(),
                        format!(
                            "attribute `{}.{}` is not declared in the files",
                            set_name.value, attribute_name.value
                        ),
                    );
                    diagnostic.suggestion = suggestion;
                    continue;
                };
                if definition.status == Status::Deprecated {
                    self.report(
                        file,
                        attribute_name.at,
                        &value_path.render(),
                        format!(
                            "attribute `{}.{}` is Deprecated and cannot be assigned",
                            set_name.value, attribute_name.value
                        ),
                    )
                    .suggestion =
                        Some("remove the value, or set the attribute's status to Available".to_owned());
                    continue;
                }
                if let Some(typed) = self.typed_value(file, definition, value, value_path) {
                    total += typed.count();
                    values.insert(attribute_name.value.clone(), typed);
                }
            }
            result.insert(set_name.value.clone(), values);
        }
        if total > MAX_ASSIGNED_VALUES {
            self.report(
                file,
                key.at,
                &path.render(),
                format!("{} values are assigned to `{}`", total, key.value),
            )
            .expected =
                Some(format!("at most {MAX_ASSIGNED_VALUES} per principal, across all sets (Graph's limit)"));
        }
        result
    }

    /// The value in the definition's type and arity, with predefined-only values checked.
    fn typed_value(
        &mut self,
        file: &str,
        definition: &Definition,
        value: &Located<AssignedValue>,
        path: ValuePath<'_>,
    ) -> Option<AttributeValue> {
        let shape = || {
            let type_name = definition.data_type.as_str();
            if definition.is_collection {
                format!("a list of {type_name} values (the attribute is a collection)")
            } else {
                format!("one {type_name} value")
            }
        };
        let typed = match (&value.value, definition.is_collection) {
            (AssignedValue::List(items), true) => {
                if items.is_empty() {
                    self.report(file, value.at, &path.render(), "an empty list assigns nothing").suggestion =
                        Some("leave the attribute out to unassign it".to_owned());
                    return None;
                }
                let mut members = Vec::new();
                for (index, item) in items.iter().enumerate() {
                    let item_path = ValuePath { index: Some(index), ..path };
                    if let Some(member) = self.scalar(file, definition, item, item_path) {
                        if members.contains(&member) {
                            self.report(
                                file,
                                item.at,
                                &item_path.render(),
                                format!("{member} is listed twice"),
                            );
                            continue;
                        }
                        members.push(member);
                    }
                }
                if members.len() != items.len() {
                    return None;
                }
                match definition.data_type {
                    DataType::Integer => AttributeValue::integers(
                        members
                            .into_iter()
                            .filter_map(|member| match member {
                                AttributeValue::Integer(number) => Some(number),
                                _ => None,
                            })
                            .collect(),
                    ),
                    _ => AttributeValue::strings(
                        members
                            .into_iter()
                            .filter_map(|member| match member {
                                AttributeValue::String(text) => Some(text),
                                _ => None,
                            })
                            .collect(),
                    ),
                }
            }
            (AssignedValue::List(_), false) => {
                self.report(
                    file,
                    value.at,
                    &path.render(),
                    "a list is assigned to a single-valued attribute",
                )
                .expected = Some(shape());
                return None;
            }
            (_, true) => {
                let diagnostic = self.report(
                    file,
                    value.at,
                    &path.render(),
                    format!("{} is assigned to a collection attribute", value.value.kind()),
                );
                diagnostic.expected = Some(shape());
                diagnostic.suggestion = Some("write it as a list: `[value]`".to_owned());
                return None;
            }
            (_, false) => self.scalar(file, definition, value, path)?,
        };
        Some(typed)
    }

    /// One scalar of the definition's type, checked against length and predefined values.
    fn scalar(
        &mut self,
        file: &str,
        definition: &Definition,
        value: &Located<AssignedValue>,
        path: ValuePath<'_>,
    ) -> Option<AttributeValue> {
        let typed = match (&value.value, definition.data_type) {
            (AssignedValue::Reported, _) => return None,
            (AssignedValue::Boolean(flag), DataType::Boolean) => AttributeValue::Boolean(*flag),
            (AssignedValue::Integer(number), DataType::Integer) => match i32::try_from(*number) {
                Ok(number) => AttributeValue::Integer(number),
                Err(_) => {
                    self.report(
                        file,
                        value.at,
                        &path.render(),
                        format!("{number} does not fit in 32 bits"),
                    )
                    .expected = Some(format!("an integer from {} to {}", i32::MIN, i32::MAX));
                    return None;
                }
            },
            (AssignedValue::String(text), DataType::String) => {
                if text.is_empty() || text.chars().count() > MAX_VALUE_LEN {
                    self.report(
                        file,
                        value.at,
                        &path.render(),
                        format!("the value has {} characters", text.chars().count()),
                    )
                    .expected = Some(format!("1 to {MAX_VALUE_LEN} characters"));
                    return None;
                }
                AttributeValue::String(text.clone())
            }
            (written, expected) => {
                let diagnostic = self.report(
                    file,
                    value.at,
                    &path.render(),
                    format!(
                        "{} is assigned to the {expected} attribute `{}.{}`",
                        written.kind(),
                        definition.attribute_set,
                        definition.name
                    ),
                );
                diagnostic.expected = Some(format!(
                    "{} {expected} value",
                    if expected == DataType::Integer { "an" } else { "a" }
                ));
                match (written, expected) {
                    (AssignedValue::Integer(number), DataType::String) => {
                        diagnostic.suggestion = Some(format!("quote it: \"{number}\""));
                    }
                    (AssignedValue::String(text), DataType::Boolean) => {
                        diagnostic.suggestion = crate::desired::diagnostic::boolean_hint(text);
                    }
                    (AssignedValue::String(text), DataType::Integer) if text.parse::<i32>().is_ok() => {
                        diagnostic.suggestion = Some(format!("write it unquoted: {text}"));
                    }
                    _ => {}
                }
                return None;
            }
        };
        if definition.use_pre_defined_values_only {
            let text = match &typed {
                AttributeValue::String(text) => Cow::Borrowed(text.as_str()),
                other => Cow::Owned(other.members().remove(0)),
            };
            match definition.allowed_value(&text) {
                // A deactivated value may be declared: a principal keeps one it
                // holds, and only the plan, which sees the tenant, can tell a
                // held value from a new assignment (which it refuses).
                Some(_) => {}
                None => {
                    let active: Vec<&str> = definition
                        .allowed_values
                        .iter()
                        .filter(|v| v.is_active)
                        .map(|v| v.id.as_str())
                        .collect();
                    let suggestion = crate::desired::diagnostic::nearest(&text, active.iter().copied())
                        .map(|near| format!("did you mean `{near}`?"));
                    let diagnostic = self.report(
                        file,
                        value.at,
                        &path.render(),
                        format!(
                            "`{text}` is not an allowed value of `{}.{}`",
                            definition.attribute_set, definition.name
                        ),
                    );
                    diagnostic.expected = Some(if active.is_empty() {
                        "no value: the attribute has no active allowed value yet".to_owned()
                    } else {
                        format!("one of {}", active.join(", "))
                    });
                    diagnostic.suggestion = suggestion;
                    return None;
                }
            }
        }
        Some(typed)
    }
}

fn describe_char(c: char) -> String {
    if c == ' ' {
        "a space".to_owned()
    } else if c.is_whitespace() {
        "whitespace".to_owned()
    } else {
        format!("`{c}`")
    }
}

fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}
