//! What the client commands print.
//!
//! - Single objects and mutation results print as JSON indented with four
//!   spaces ([`print_json`]), as the original's `printJSON` does.
//! - Lists print as a table by default and as JSON with `--json`
//!   ([`print_list`]). This is the project's rule ("lists print as tables by
//!   default and as JSON on request"); the original printed JSON unless
//!   `--table` was given, so `--table` is still accepted (and changes
//!   nothing), and scripts that parsed the original's list output add
//!   `--json`.
//! - `--custom-columns NAME:.Path,...` prints a table with those columns; a
//!   path is the relaxed k8s JSONPath of the original (`.A.B`, `{.A.B}`,
//!   `.A[0]`, `.A[*].B`); a missing value prints `<none>` and several values
//!   are joined with `,`.

use clap::Args;
use comfy_table::{ContentArrangement, Table, presets};
use serde::Serialize;
use serde_json::Value;
use std::io::Write;

/// Output flags of list commands.
#[derive(Debug, Clone, Default, Args)]
pub struct OutputArgs {
    /// Print the list as the API's JSON instead of a table.
    #[arg(long, conflicts_with_all = ["table", "custom_columns"])]
    pub json: bool,

    /// Print the list as a table (the default; kept for compatibility).
    #[arg(long)]
    pub table: bool,

    /// Table columns as NAME:<path> pairs, e.g. ID:.ID,State:.State,VPC:.ProvisionerMetadataKops.VPC
    #[arg(long, value_delimiter = ',', value_name = "NAME:PATH")]
    pub custom_columns: Vec<String>,
}

/// Prints `value` as JSON indented with four spaces, with a trailing newline.
pub fn print_json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    let text = to_json_string(value)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")?;
    Ok(())
}

/// `value` as JSON indented with four spaces.
pub fn to_json_string<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<String> {
    let mut buf = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, formatter);
    value.serialize(&mut ser)?;
    Ok(String::from_utf8(buf)?)
}

/// Prints a left-aligned, borderless table.
pub fn print_table<H: AsRef<str>>(headers: &[H], rows: &[Vec<String>]) -> anyhow::Result<()> {
    let text = render_table(headers, rows);
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")?;
    Ok(())
}

/// The table [`print_table`] prints.
pub fn render_table<H: AsRef<str>>(headers: &[H], rows: &[Vec<String>]) -> String {
    let mut table = Table::new();
    table
        .load_style(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(headers.iter().map(|h| h.as_ref().to_string()));
    for row in rows {
        table.add_row(row.clone());
    }
    // comfy-table pads every line to the table width; trailing blanks only
    // make copy and paste awkward.
    table
        .to_string()
        .lines()
        .map(|l| l.trim_end().strip_prefix(' ').unwrap_or(l.trim_end()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Prints a list: a table of `headers` with one `row` per item by default,
/// the custom columns with `--custom-columns`, the items as JSON with `--json`.
pub fn print_list<T: Serialize>(
    items: &[T],
    headers: &[&str],
    row: impl Fn(&T) -> Vec<String>,
    out: &OutputArgs,
) -> anyhow::Result<()> {
    if out.json {
        return print_json(items);
    }
    if !out.custom_columns.is_empty() {
        let columns = parse_custom_columns(&out.custom_columns)?;
        let values = items
            .iter()
            .map(serde_json::to_value)
            .collect::<Result<Vec<_>, _>>()?;
        let rows = custom_rows(&columns, &values);
        let headers: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        return print_table(&headers, &rows);
    }
    let rows: Vec<Vec<String>> = items.iter().map(row).collect();
    print_table(headers, &rows)
}

/// One `--custom-columns` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomColumn {
    pub name: String,
    pub path: Vec<Segment>,
}

/// A step of a column path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Key(String),
    Index(usize),
    All,
}

/// Parses `NAME:<path>` entries.
pub fn parse_custom_columns(specs: &[String]) -> anyhow::Result<Vec<CustomColumn>> {
    specs
        .iter()
        .filter(|s| !s.trim().is_empty())
        .map(|spec| {
            let (name, path) = spec.split_once(':').ok_or_else(|| {
                anyhow::anyhow!(
                    "custom column {spec:?} must be formatted as NAME:<path>, e.g. ID:.ID"
                )
            })?;
            let path =
                parse_path(path).map_err(|e| anyhow::anyhow!("custom column {spec:?}: {e}"))?;
            Ok(CustomColumn {
                name: name.to_string(),
                path,
            })
        })
        .collect()
}

/// Parses `.A.B`, `{.A.B}`, `.A[0]`, `.A[*].B` (a leading `.` is optional).
pub fn parse_path(path: &str) -> Result<Vec<Segment>, String> {
    let mut p = path.trim();
    if let Some(inner) = p.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
        p = inner.trim();
    }
    let mut segments = Vec::new();
    let mut rest = p;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('[') {
            let (index, tail) = after
                .split_once(']')
                .ok_or_else(|| format!("unclosed '[' in {path:?}"))?;
            segments.push(match index.trim() {
                "*" => Segment::All,
                n => Segment::Index(
                    n.parse()
                        .map_err(|_| format!("bad index {n:?} in {path:?}"))?,
                ),
            });
            rest = tail;
        } else {
            rest = rest.strip_prefix('.').unwrap_or(rest);
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            let key = &rest[..end];
            if key.is_empty() {
                if rest.is_empty() {
                    break;
                }
                return Err(format!("empty key in {path:?}"));
            }
            segments.push(Segment::Key(key.to_string()));
            rest = &rest[end..];
        }
    }
    Ok(segments)
}

/// Every value `path` reaches in `value`.
pub fn evaluate<'a>(value: &'a Value, path: &[Segment]) -> Vec<&'a Value> {
    let mut current = vec![value];
    for segment in path {
        current = current
            .into_iter()
            .flat_map(|v| -> Vec<&'a Value> {
                match (segment, v) {
                    (Segment::Key(k), Value::Object(map)) => map.get(k).into_iter().collect(),
                    (Segment::Index(i), Value::Array(items)) => items.get(*i).into_iter().collect(),
                    (Segment::All, Value::Array(items)) => items.iter().collect(),
                    (Segment::All, Value::Object(map)) => map.values().collect(),
                    _ => Vec::new(),
                }
            })
            .collect();
    }
    current
}

/// The cell for `path` in `value`: strings as they are, other values as
/// compact JSON, several joined with `,`, nothing (or null) as `<none>`.
pub fn cell(value: &Value, path: &[Segment]) -> String {
    let parts: Vec<String> = evaluate(value, path)
        .into_iter()
        .filter(|v| !v.is_null())
        .map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect();
    if parts.is_empty() {
        "<none>".to_string()
    } else {
        parts.join(",")
    }
}

/// The custom-column rows of `values`.
pub fn custom_rows(columns: &[CustomColumn], values: &[Value]) -> Vec<Vec<String>> {
    values
        .iter()
        .map(|v| columns.iter().map(|c| cell(v, &c.path)).collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_is_indented_with_four_spaces() {
        let text = to_json_string(&json!({"ID": "x", "List": [1]})).unwrap();
        assert_eq!(
            text,
            "{\n    \"ID\": \"x\",\n    \"List\": [\n        1\n    ]\n}"
        );
        assert_eq!(to_json_string(&Vec::<i32>::new()).unwrap(), "[]");
    }

    #[test]
    fn paths_parse_in_every_spelling() {
        let expected = vec![Segment::Key("A".into()), Segment::Key("B".into())];
        assert_eq!(parse_path(".A.B").unwrap(), expected);
        assert_eq!(parse_path("{.A.B}").unwrap(), expected);
        assert_eq!(parse_path("A.B").unwrap(), expected);
        assert_eq!(
            parse_path(".A[0].B[*]").unwrap(),
            vec![
                Segment::Key("A".into()),
                Segment::Index(0),
                Segment::Key("B".into()),
                Segment::All
            ]
        );
        assert_eq!(parse_path(".").unwrap(), vec![]);
        assert!(parse_path(".A[x]").is_err());
        assert!(parse_path(".A[0").is_err());
        assert!(parse_path(".A..B").is_err());
    }

    #[test]
    fn cells_follow_the_original() {
        let v = json!({
            "ID": "abc",
            "Size": 3,
            "Meta": {"VPC": "vpc-1", "Tags": ["a", "b"], "Empty": null},
            "Items": [{"N": 1}, {"N": 2}]
        });
        let c = |p: &str| cell(&v, &parse_path(p).unwrap());
        assert_eq!(c(".ID"), "abc");
        assert_eq!(c("{.Size}"), "3");
        assert_eq!(c(".Meta.VPC"), "vpc-1");
        assert_eq!(c(".Meta.Tags[1]"), "b");
        assert_eq!(c(".Meta.Tags[*]"), "a,b");
        assert_eq!(c(".Meta.Tags"), r#"["a","b"]"#);
        assert_eq!(c(".Items[*].N"), "1,2");
        assert_eq!(c(".Missing"), "<none>");
        assert_eq!(c(".Meta.Empty"), "<none>");
        assert_eq!(c(".Meta.Tags[9]"), "<none>");
    }

    #[test]
    fn custom_columns_need_a_name_and_path() {
        let cols = parse_custom_columns(&["ID:.ID".into(), "VPC:{.Meta.VPC}".into()]).unwrap();
        assert_eq!(cols[0].name, "ID");
        assert_eq!(cols[1].path.len(), 2);
        assert!(parse_custom_columns(&["ID".into()]).is_err());
        let rows = custom_rows(&cols, &[json!({"ID": "x"})]);
        assert_eq!(rows, vec![vec!["x".to_string(), "<none>".to_string()]]);
    }

    #[test]
    fn tables_are_left_aligned_without_borders() {
        let text = render_table(
            &["ID", "STATE"],
            &[
                vec!["a".into(), "stable".into()],
                vec!["bbbb".into(), "x".into()],
            ],
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].starts_with("ID"), "{text}");
        assert!(lines[1].starts_with("a "), "{text}");
        assert!(lines[2].starts_with("bbbb"), "{text}");
        let state_col = lines[0].find("STATE").unwrap();
        assert_eq!(lines[1].find("stable"), Some(state_col), "{text}");
        assert!(lines.iter().all(|l| !l.ends_with(' ')));
    }
}
