//! The mutator: from a door's valid request, one case with one or two mutations of the hostile
//! families, chosen by a seeded generator (the same seed and index give the same bytes).

use super::doors::Template;
use super::hostile;
use super::rng::Rng;
use serde_json::{Value, json};

/// A family of hostile input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Family {
    WrongType,
    HugeNumber,
    DeepNesting,
    LongString,
    OddText,
    InvalidUtf8,
    DropKey,
    DuplicateKey,
    Truncated,
    NotAnObject,
    BigArray,
    Schema,
    Header,
    PathOrMethod,
}

impl Family {
    pub const ALL: [Family; 14] = [
        Family::WrongType,
        Family::HugeNumber,
        Family::DeepNesting,
        Family::LongString,
        Family::OddText,
        Family::InvalidUtf8,
        Family::DropKey,
        Family::DuplicateKey,
        Family::Truncated,
        Family::NotAnObject,
        Family::BigArray,
        Family::Schema,
        Family::Header,
        Family::PathOrMethod,
    ];

    /// Families applied to the serialized body rather than to its JSON value.
    fn on_bytes(self) -> bool {
        matches!(
            self,
            Family::InvalidUtf8 | Family::DuplicateKey | Family::Truncated | Family::NotAnObject
        )
    }
}

/// One request to send, and how it was made.
pub struct Case {
    pub seed: u64,
    pub index: usize,
    pub door: &'static str,
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
    /// Empty for an unmutated request.
    pub families: Vec<Family>,
    pub notes: Vec<String>,
}

impl std::fmt::Display for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let body = String::from_utf8_lossy(&self.body[..self.body.len().min(400)]);
        let headers: Vec<String> = self
            .headers
            .iter()
            .map(|(n, v)| format!("{n}: {:?}", String::from_utf8_lossy(&v[..v.len().min(80)])))
            .collect();
        write!(
            f,
            "seed {:#x} case {} ({}): {} {:?}, mutations {:?} {:?}, headers {headers:?}, \
             body of {} bytes: {body}",
            self.seed,
            self.index,
            self.door,
            self.method,
            self.path,
            self.families,
            self.notes,
            self.body.len()
        )
    }
}

/// Case `index` of `seed`: every `Family::ALL.len() + 1`th is the template unmutated.
pub fn case(seed: u64, index: usize, templates: &[Template]) -> Case {
    let mut rng = Rng::new(seed, index);
    let template = rng.pick(templates);
    let slot = index % (Family::ALL.len() + 1);
    let mut families = Vec::new();
    if let Some(first) = Family::ALL.get(slot) {
        families.push(*first);
        if rng.chance(1, 3) {
            families.push(*rng.pick(&Family::ALL));
        }
    }
    // Value mutations first, then those of the serialized bytes.
    families.sort_by_key(|f| f.on_bytes());
    let mut draft = Draft {
        value: template.body.clone(),
        raws: Vec::new(),
        template,
        notes: Vec::new(),
        method: "POST".to_owned(),
        path: template.path.to_owned(),
        headers: Vec::new(),
    };
    let mut body = None;
    for family in &families {
        if family.on_bytes() {
            let bytes = body.get_or_insert_with(|| draft.serialize());
            draft.bytes(&mut rng, *family, bytes);
        } else {
            draft.value(&mut rng, *family);
        }
    }
    let body = body.unwrap_or_else(|| draft.serialize());
    Case {
        seed,
        index,
        door: template.name,
        method: draft.method,
        path: draft.path,
        headers: draft.headers,
        body,
        families,
        notes: draft.notes,
    }
}

struct Draft<'t> {
    value: Value,
    /// Texts spliced in after serialization where a placeholder string stands: JSON that a
    /// `Value` cannot hold (numbers past f64, nesting past the recursion limit).
    raws: Vec<String>,
    template: &'t Template,
    notes: Vec<String>,
    method: String,
    path: String,
    headers: Vec<(String, Vec<u8>)>,
}

impl Draft<'_> {
    fn raw(&mut self, text: String) -> Value {
        self.raws.push(text);
        Value::String(format!("\u{1}raw{}\u{1}", self.raws.len() - 1))
    }

    fn serialize(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec(&self.value).unwrap_or_default();
        for (i, raw) in self.raws.iter().enumerate() {
            let placeholder = format!("\"\\u0001raw{i}\\u0001\"");
            if let Some(at) = find(&bytes, placeholder.as_bytes()) {
                bytes.splice(at..at + placeholder.len(), raw.bytes());
            }
        }
        bytes
    }

    /// A node of the body (never the whole of it), preferring those `prefer` accepts.
    fn node(&self, rng: &mut Rng, prefer: fn(&Value) -> bool) -> String {
        let mut all = Vec::new();
        pointers(&self.value, String::new(), &mut all);
        let preferred: Vec<&String> = all
            .iter()
            .filter(|p| self.value.pointer(p).is_some_and(prefer))
            .collect();
        if !preferred.is_empty() && rng.chance(3, 4) {
            return preferred[rng.below(preferred.len())].clone();
        }
        all.get(rng.below(all.len().max(1)))
            .cloned()
            .unwrap_or_default()
    }

    fn set(&mut self, pointer: &str, value: Value) {
        if let Some(slot) = self.value.pointer_mut(pointer) {
            *slot = value;
        }
    }

    fn value(&mut self, rng: &mut Rng, family: Family) {
        match family {
            Family::WrongType => {
                let at = self.node(rng, |_| true);
                let value = hostile::wrong_type(rng);
                self.notes.push(format!("{at} = {value}"));
                self.set(&at, value);
            }
            Family::HugeNumber => {
                let at = self.node(rng, Value::is_number);
                let text = hostile::number(rng);
                self.notes.push(format!("{at} = {}", clip(&text)));
                let raw = self.raw(text);
                self.set(&at, raw);
            }
            Family::DeepNesting => {
                let at = self.node(rng, |_| true);
                let (note, text) = hostile::deep(rng);
                self.notes.push(format!("{at}: {note}"));
                let raw = self.raw(text);
                self.set(&at, raw);
            }
            Family::LongString => {
                let at = self.string_node(rng);
                let text = hostile::long_string(rng);
                self.notes.push(format!("{at}: {} bytes", text.len()));
                self.set(&at, Value::String(text));
            }
            Family::OddText => {
                let at = self.string_node(rng);
                let text = hostile::odd_text(rng);
                self.notes.push(format!("{at} = {}", clip(&text)));
                let raw = self.raw(text);
                self.set(&at, raw);
            }
            Family::DropKey => self.drop_key(rng),
            Family::BigArray => self.grow(rng),
            Family::Schema => self.schema(rng),
            Family::Header => {
                for _ in 0..=rng.below(3) {
                    let (name, value) = hostile::header(rng);
                    self.notes.push(format!("header {name}"));
                    self.headers.push((name, value));
                }
            }
            Family::PathOrMethod => {
                if rng.chance(1, 2) {
                    self.path = hostile::path(rng, self.template.path);
                }
                if self.path == self.template.path || rng.chance(1, 3) {
                    self.method = hostile::method(rng).to_owned();
                }
            }
            Family::InvalidUtf8
            | Family::DuplicateKey
            | Family::Truncated
            | Family::NotAnObject => {}
        }
    }

    /// A string node; a third of the time the model.
    fn string_node(&self, rng: &mut Rng) -> String {
        if rng.chance(1, 3) {
            return "/model".to_owned();
        }
        self.node(rng, Value::is_string)
    }

    fn drop_key(&mut self, rng: &mut Rng) {
        let at = self.node(rng, |v| v.as_object().is_some_and(|o| !o.is_empty()));
        let target = if rng.chance(1, 3) { "" } else { at.as_str() };
        if let Some(object) = self
            .value
            .pointer_mut(target)
            .and_then(Value::as_object_mut)
        {
            let keys: Vec<String> = object.keys().cloned().collect();
            if let Some(key) = keys.get(rng.below(keys.len().max(1))) {
                object.remove(key);
                self.notes.push(format!("dropped {target}/{key}"));
            }
        }
    }

    /// An array or object of the body grown to thousands of members (a few MB at most).
    fn grow(&mut self, rng: &mut Rng) {
        let at = self.node(rng, |v| v.is_array() || v.is_object());
        let want = *rng.pick(&[17usize, 129, 1025, 2049, 20_000, 100_001]);
        let Some(slot) = self.value.pointer_mut(&at) else {
            return;
        };
        match slot {
            Value::Array(items) => {
                let item = items.first().cloned().unwrap_or(json!("x"));
                let size = item.to_string().len().max(1);
                let n = want.min(3_000_000 / size);
                *items = vec![item; n];
                self.notes.push(format!("{at}: {n} items"));
            }
            Value::Object(members) => {
                let value = members.values().next().cloned().unwrap_or(json!("v"));
                let size = value.to_string().len().max(1) + 8;
                let n = want.min(3_000_000 / size);
                for i in 0..n {
                    members.insert(format!("k{i}"), value.clone());
                }
                self.notes.push(format!("{at}: {n} keys"));
            }
            _ => {}
        }
    }

    /// A pathological schema where the door takes one: the template's, or a forced tool's.
    fn schema(&mut self, rng: &mut Rng) {
        let (note, schema) = hostile::schema(rng);
        self.notes.push(format!("schema: {note}"));
        if let Some(at) = self.template.schema {
            self.set(at, schema);
            return;
        }
        let Some(body) = self.value.as_object_mut() else {
            return;
        };
        if self.template.path == "/v1/messages" {
            body.insert(
                "tools".into(),
                json!([{"name": "f", "input_schema": schema}]),
            );
            body.insert("tool_choice".into(), json!({"type": "tool", "name": "f"}));
        } else if rng.chance(1, 2) {
            body.insert(
                "tools".into(),
                json!([{"type": "function", "function": {"name": "f", "parameters": schema}}]),
            );
            body.insert(
                "tool_choice".into(),
                json!({"type": "function", "function": {"name": "f"}}),
            );
        } else {
            body.insert(
                "response_format".into(),
                json!({"type": "json_schema", "json_schema": {"name": "s", "schema": schema}}),
            );
        }
    }

    fn bytes(&mut self, rng: &mut Rng, family: Family, bytes: &mut Vec<u8>) {
        match family {
            Family::InvalidUtf8 => {
                let quotes: Vec<usize> = (0..bytes.len()).filter(|&i| bytes[i] == b'"').collect();
                let at = quotes
                    .get(rng.below(quotes.len().max(1)))
                    .map_or(0, |q| q + 1);
                let bad = hostile::invalid_utf8(rng);
                self.notes.push(format!("{bad:x?} at byte {at}"));
                bytes.splice(at..at, bad);
            }
            Family::DuplicateKey => {
                let opens: Vec<usize> = (0..bytes.len().saturating_sub(1))
                    .filter(|&i| bytes[i] == b'{' && bytes[i + 1] == b'"')
                    .collect();
                let Some(&at) = opens.get(rng.below(opens.len().max(1))) else {
                    return;
                };
                let key_end = bytes[at + 2..]
                    .iter()
                    .position(|b| *b == b'"')
                    .map_or(at + 2, |n| at + 2 + n);
                let key = String::from_utf8_lossy(&bytes[at + 2..key_end]).into_owned();
                let value = *rng.pick(&["null", "1", "\"x\"", "[]", "{}", "true"]);
                self.notes.push(format!("{key:?} given twice"));
                bytes.splice(at + 1..at + 1, format!("\"{key}\":{value},").into_bytes());
            }
            Family::Truncated => {
                let at = rng.below(bytes.len().max(1));
                self.notes.push(format!("cut at byte {at}"));
                bytes.truncate(at);
            }
            Family::NotAnObject => {
                let original = bytes.clone();
                let mut with_bom = b"\xef\xbb\xbf".to_vec();
                with_bom.extend_from_slice(&original);
                let bodies: Vec<(&str, Vec<u8>)> = vec![
                    ("empty", Vec::new()),
                    ("null", b"null".to_vec()),
                    ("array", b"[]".to_vec()),
                    ("string", b"\"x\"".to_vec()),
                    ("number", b"123".to_vec()),
                    ("array of it", [b"[".as_slice(), &original, b"]"].concat()),
                    ("empty object", b"{}".to_vec()),
                    ("byte-order mark", with_bom),
                    ("whitespace", b" \n\t\r ".to_vec()),
                    ("trailing bytes", [original.as_slice(), b"garbage"].concat()),
                    ("twice", [original.as_slice(), &original].concat()),
                ];
                let (note, body) = rng.pick(&bodies);
                self.notes.push(format!("body: {note}"));
                *bytes = body.clone();
            }
            _ => {}
        }
    }
}

/// The first 40 characters of a note's text.
fn clip(text: &str) -> String {
    text.chars().take(40).collect()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// JSON pointers of every node under `value` (not `value` itself).
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    let children: Vec<(String, &Value)> = match value {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (i.to_string(), v))
            .collect(),
        Value::Object(members) => members
            .iter()
            .map(|(k, v)| (k.replace('~', "~0").replace('/', "~1"), v))
            .collect(),
        _ => return,
    };
    for (key, child) in children {
        let pointer = format!("{at}/{key}");
        out.push(pointer.clone());
        pointers(child, pointer, out);
    }
}
