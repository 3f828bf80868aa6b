//! Contact lists as CSV files: import of the list kept before this service, export of
//! any filter. Both stream: memory does not grow with the file.

mod export;
mod import;

pub use export::{EXPORT_HEADER, ExportError, export_csv, export_record};
pub use import::{
    Encoding, ImportError, ImportEvent, ImportOptions, ImportSummary, Problem, ProblemKind,
    import_csv,
};

/// Characters that make a spreadsheet program read a cell as a formula (CSV injection).
/// Tab and CR are on OWASP's list too.
const FORMULA_TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Makes a cell inert in spreadsheet programs by prefixing a `'` when it could start a
/// formula. The importer removes that prefix again, so an export imports unchanged.
pub fn spreadsheet_safe(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(FORMULA_TRIGGERS) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// Undoes [`spreadsheet_safe`].
fn strip_spreadsheet_guard(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA_TRIGGERS) => rest,
        _ => cell,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised_and_restored() {
        for cell in [
            "=HYPERLINK(\"http://x.test\")",
            "+47 22 00 00 00",
            "-1",
            "@SUM(A1)",
            "\tx",
        ] {
            let safe = spreadsheet_safe(cell);
            assert_eq!(safe, format!("'{cell}"));
            assert_eq!(strip_spreadsheet_guard(&safe), cell);
        }
        assert_eq!(spreadsheet_safe("Kari Nordmann"), "Kari Nordmann");
        assert_eq!(strip_spreadsheet_guard("'t Hooft"), "'t Hooft");
    }
}
