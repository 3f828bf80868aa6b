//! Reading CSV files: delimiters, encodings, line numbers.

use super::Encoding;
use super::read::{Field, decode, detect_delimiter};

#[test]
fn detects_the_usual_delimiters() {
    assert_eq!(detect_delimiter(b"email,name,organisation\n"), b',');
    assert_eq!(detect_delimiter(b"e-post;navn;organisasjon\r\n"), b';');
    assert_eq!(detect_delimiter(b"email\tname\n"), b'\t');
    assert_eq!(detect_delimiter(b"email\n"), b',');
    assert_eq!(detect_delimiter(b"email|name|org\n"), b',');
}

#[test]
fn windows_1252_decodes_norwegian_letters() {
    let bytes = b"\xc6se \xd8deg\xe5rd \x80";
    assert_eq!(decode(bytes, Encoding::Latin1).unwrap(), "Æse Ødegård €");
    assert!(decode(bytes, Encoding::Utf8).is_err());
}

#[test]
fn header_aliases_are_understood() {
    for cell in ["Email", "E-post", "epost", " e-mail "] {
        assert_eq!(Field::from_header(cell), Some(Field::Email), "{cell}");
    }
    assert_eq!(
        Field::from_header("Organisasjon"),
        Some(Field::Organisation)
    );
    assert_eq!(Field::from_header("telefon"), None);
}
