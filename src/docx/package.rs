//! The zip that holds a Word document, read with limits: a file of at most
//! [`MAX_DOCX_BYTES`], at most [`MAX_ENTRIES`] entries, and only the XML parts the
//! import needs decompressed, each and all together at most [`MAX_PART_BYTES`]
//! and [`MAX_TOTAL_BYTES`] (counted as they are read, never trusting the sizes the zip
//! declares). Images and other media are never decompressed.

use std::io::{Cursor, Read};

use super::DocxError;

/// The largest .docx accepted: a newsletter with a few pictures is a few MB.
pub const MAX_DOCX_BYTES: usize = 20 * 1024 * 1024;
/// Entries in the zip: a document has a dozen parts, plus one per picture.
pub const MAX_ENTRIES: usize = 2000;
/// One decompressed XML part: the text of a 40-page document is about 1 MB of XML.
pub const MAX_PART_BYTES: u64 = 20 * 1024 * 1024;
/// Every part read, together.
pub const MAX_TOTAL_BYTES: u64 = 20 * 1024 * 1024;

/// A compound file (OLE2): an encrypted Office document, or the old binary `.doc`.
const COMPOUND_FILE_MAGIC: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

pub(super) struct Package<'a> {
    zip: zip::ZipArchive<Cursor<&'a [u8]>>,
    read_so_far: u64,
}

impl<'a> Package<'a> {
    pub fn open(bytes: &'a [u8]) -> Result<Package<'a>, DocxError> {
        if bytes.len() > MAX_DOCX_BYTES {
            return Err(DocxError::TooLarge { size: bytes.len() });
        }
        if bytes.starts_with(&COMPOUND_FILE_MAGIC) {
            // Word saves a document with a password as a compound file holding an
            // "EncryptedPackage" stream; any other compound file is a .doc.
            let marker: Vec<u8> = "EncryptedPackage"
                .encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect();
            return Err(if bytes.windows(marker.len()).any(|w| w == marker) {
                DocxError::PasswordProtected
            } else {
                DocxError::OldWordFormat
            });
        }
        if !bytes.starts_with(b"PK") {
            return Err(DocxError::NotZip);
        }
        let zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| DocxError::NotZip)?;
        if zip.len() > MAX_ENTRIES {
            return Err(DocxError::TooManyEntries { entries: zip.len() });
        }
        Ok(Package {
            zip,
            read_so_far: 0,
        })
    }

    pub fn has(&self, name: &str) -> bool {
        self.zip.index_for_name(name).is_some()
    }

    /// The part's text, or `None` when the package has no such part.
    pub fn text(&mut self, name: &str) -> Result<Option<String>, DocxError> {
        let Some(index) = self.zip.index_for_name(name) else {
            return Ok(None);
        };
        let mut file = match self.zip.by_index(index) {
            Ok(file) => file,
            Err(zip::result::ZipError::UnsupportedArchive(why))
                if why.to_ascii_lowercase().contains("password") =>
            {
                return Err(DocxError::PasswordProtected);
            }
            Err(_) => return Err(DocxError::Damaged(name.to_owned())),
        };
        if file.encrypted() {
            return Err(DocxError::PasswordProtected);
        }
        let allowed = MAX_PART_BYTES.min(MAX_TOTAL_BYTES - self.read_so_far);
        if file.size() > allowed {
            return Err(too_much(name, file.size()));
        }
        let mut bytes = Vec::with_capacity(file.size().min(allowed) as usize);
        (&mut file)
            .take(allowed + 1)
            .read_to_end(&mut bytes)
            .map_err(|_| DocxError::Damaged(name.to_owned()))?;
        if bytes.len() as u64 > allowed {
            return Err(too_much(name, bytes.len() as u64));
        }
        self.read_so_far += bytes.len() as u64;
        let text = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
            Some(rest) => rest.to_vec(),
            None => bytes,
        };
        String::from_utf8(text)
            .map(Some)
            .map_err(|_| DocxError::NotUtf8(name.to_owned()))
    }
}

/// A part over the limit: over the one for a part, or over what is left of the whole.
fn too_much(name: &str, size: u64) -> DocxError {
    if size > MAX_PART_BYTES {
        DocxError::PartTooLarge(name.to_owned())
    } else {
        DocxError::TotalTooLarge
    }
}

/// A part name from a relationship's target, relative to the part that names it
/// (`word/document.xml` + `media/a.png` → `word/media/a.png`; `/word/x.xml` is absolute).
pub(super) fn resolve(base_part: &str, target: &str) -> String {
    if let Some(absolute) = target.strip_prefix('/') {
        return absolute.to_owned();
    }
    let mut parts: Vec<&str> = base_part.split('/').collect();
    parts.pop();
    for piece in target.split('/') {
        match piece {
            "." | "" => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

/// `word/document.xml` → `word/_rels/document.xml.rels`.
pub(super) fn rels_of(part: &str) -> String {
    match part.rsplit_once('/') {
        Some((dir, file)) => format!("{dir}/_rels/{file}.rels"),
        None => format!("_rels/{part}.rels"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relationship_targets_resolve_against_their_part() {
        assert_eq!(
            resolve("word/document.xml", "styles.xml"),
            "word/styles.xml"
        );
        assert_eq!(
            resolve("word/document.xml", "../customXml/item1.xml"),
            "customXml/item1.xml"
        );
        assert_eq!(resolve("", "word/document.xml"), "word/document.xml");
        assert_eq!(resolve("word/document.xml", "/word/x.xml"), "word/x.xml");
        assert_eq!(rels_of("word/document.xml"), "word/_rels/document.xml.rels");
    }
}
