//! How the emulator answers `$expand=allowedValues`: whole (the default), or
//! cut short as a real tenant may cut it. Graph documents for `$expand` on
//! directory relationships that at most 20 objects come back and no
//! `@odata.nextLink` says so (the "known issue" of the query-parameters
//! page); whether that applies to `allowedValues` is not documented, so the
//! client must survive both forms, and this knob lets the tests prove it.

use serde_json::{Map, Value, json};

use super::odata::QueryOptions;

/// Graph's documented ceiling on expanded directory objects.
pub const GRAPH_EXPANSION_LIMIT: usize = 20;

/// How an expansion of `allowedValues` is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Expansion {
    /// Every value, as the documentation's examples show.
    #[default]
    Whole,
    /// At most 20 values and nothing saying more exist (the known issue).
    CutSilently,
    /// At most this many values, then `allowedValues@odata.nextLink` to the
    /// definition's `/allowedValues` collection, from where the cut was.
    Paged(usize),
}

impl Expansion {
    /// Cuts the expanded `allowedValues` of a definition entity as this
    /// setting says. `definition_id` and `base_url` build the nextLink.
    pub fn apply(self, entity: &mut Map<String, Value>, definition_id: &str, base_url: &str) {
        let limit = match self {
            Expansion::Whole => return,
            Expansion::CutSilently => GRAPH_EXPANSION_LIMIT,
            Expansion::Paged(limit) => limit.max(1),
        };
        let Some(Value::Array(values)) = entity.get_mut("allowedValues") else {
            return;
        };
        if values.len() <= limit {
            return;
        }
        values.truncate(limit);
        if let Expansion::Paged(_) = self {
            let path = format!("directory/customSecurityAttributeDefinitions/{definition_id}/allowedValues");
            let options = QueryOptions::parse(&format!("$top={limit}"), &["$top"])
                .expect("a $top the emulator writes parses");
            entity.insert(
                "allowedValues@odata.nextLink".into(),
                json!(options.next_link(base_url, &path, limit)),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entity(values: usize) -> Map<String, Value> {
        let values: Vec<Value> =
            (0..values).map(|index| json!({"id": format!("v{index}"), "isActive": true})).collect();
        let mut entity = Map::new();
        entity.insert("id".into(), json!("Eng_P"));
        entity.insert("allowedValues".into(), Value::Array(values));
        entity
    }

    #[test]
    fn each_setting_cuts_as_documented() {
        let mut whole = entity(45);
        Expansion::Whole.apply(&mut whole, "Eng_P", "http://h");
        assert_eq!(whole["allowedValues"].as_array().unwrap().len(), 45);

        let mut cut = entity(45);
        Expansion::CutSilently.apply(&mut cut, "Eng_P", "http://h");
        assert_eq!(cut["allowedValues"].as_array().unwrap().len(), 20);
        assert!(!cut.contains_key("allowedValues@odata.nextLink"));

        let mut paged = entity(45);
        Expansion::Paged(7).apply(&mut paged, "Eng_P", "http://h");
        assert_eq!(paged["allowedValues"].as_array().unwrap().len(), 7);
        let link = paged["allowedValues@odata.nextLink"].as_str().unwrap();
        assert!(
            link.starts_with("http://h/v1.0/directory/customSecurityAttributeDefinitions/Eng_P/allowedValues?$top=7&$skiptoken="),
            "{link}"
        );

        let mut short = entity(7);
        Expansion::Paged(7).apply(&mut short, "Eng_P", "http://h");
        assert!(!short.contains_key("allowedValues@odata.nextLink"), "nothing was cut");
    }
}
