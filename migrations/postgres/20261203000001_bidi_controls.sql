-- Bidirectional controls (U+202A–U+202E, U+2066–U+2069) are refused in names,
-- organisations and notes from now on (issue 17); any stored before are removed, so
-- that what was accepted then still reads as valid now. Nothing else changes.

UPDATE contacts SET name = replace(replace(replace(replace(replace(replace(replace(replace(replace(name, chr(8234), ''), chr(8235), ''), chr(8236), ''), chr(8237), ''), chr(8238), ''), chr(8294), ''), chr(8295), ''), chr(8296), ''), chr(8297), '')
    WHERE strpos(name, chr(8234)) > 0 OR strpos(name, chr(8235)) > 0 OR strpos(name, chr(8236)) > 0 OR strpos(name, chr(8237)) > 0 OR strpos(name, chr(8238)) > 0 OR strpos(name, chr(8294)) > 0 OR strpos(name, chr(8295)) > 0 OR strpos(name, chr(8296)) > 0 OR strpos(name, chr(8297)) > 0;

UPDATE contacts SET organisation = replace(replace(replace(replace(replace(replace(replace(replace(replace(organisation, chr(8234), ''), chr(8235), ''), chr(8236), ''), chr(8237), ''), chr(8238), ''), chr(8294), ''), chr(8295), ''), chr(8296), ''), chr(8297), '')
    WHERE strpos(organisation, chr(8234)) > 0 OR strpos(organisation, chr(8235)) > 0 OR strpos(organisation, chr(8236)) > 0 OR strpos(organisation, chr(8237)) > 0 OR strpos(organisation, chr(8238)) > 0 OR strpos(organisation, chr(8294)) > 0 OR strpos(organisation, chr(8295)) > 0 OR strpos(organisation, chr(8296)) > 0 OR strpos(organisation, chr(8297)) > 0;

UPDATE contacts SET consent_note = replace(replace(replace(replace(replace(replace(replace(replace(replace(consent_note, chr(8234), ''), chr(8235), ''), chr(8236), ''), chr(8237), ''), chr(8238), ''), chr(8294), ''), chr(8295), ''), chr(8296), ''), chr(8297), '')
    WHERE strpos(consent_note, chr(8234)) > 0 OR strpos(consent_note, chr(8235)) > 0 OR strpos(consent_note, chr(8236)) > 0 OR strpos(consent_note, chr(8237)) > 0 OR strpos(consent_note, chr(8238)) > 0 OR strpos(consent_note, chr(8294)) > 0 OR strpos(consent_note, chr(8295)) > 0 OR strpos(consent_note, chr(8296)) > 0 OR strpos(consent_note, chr(8297)) > 0;

UPDATE subscription_requests SET name = replace(replace(replace(replace(replace(replace(replace(replace(replace(name, chr(8234), ''), chr(8235), ''), chr(8236), ''), chr(8237), ''), chr(8238), ''), chr(8294), ''), chr(8295), ''), chr(8296), ''), chr(8297), '')
    WHERE strpos(name, chr(8234)) > 0 OR strpos(name, chr(8235)) > 0 OR strpos(name, chr(8236)) > 0 OR strpos(name, chr(8237)) > 0 OR strpos(name, chr(8238)) > 0 OR strpos(name, chr(8294)) > 0 OR strpos(name, chr(8295)) > 0 OR strpos(name, chr(8296)) > 0 OR strpos(name, chr(8297)) > 0;

UPDATE subscription_requests SET organisation = replace(replace(replace(replace(replace(replace(replace(replace(replace(organisation, chr(8234), ''), chr(8235), ''), chr(8236), ''), chr(8237), ''), chr(8238), ''), chr(8294), ''), chr(8295), ''), chr(8296), ''), chr(8297), '')
    WHERE strpos(organisation, chr(8234)) > 0 OR strpos(organisation, chr(8235)) > 0 OR strpos(organisation, chr(8236)) > 0 OR strpos(organisation, chr(8237)) > 0 OR strpos(organisation, chr(8238)) > 0 OR strpos(organisation, chr(8294)) > 0 OR strpos(organisation, chr(8295)) > 0 OR strpos(organisation, chr(8296)) > 0 OR strpos(organisation, chr(8297)) > 0;

UPDATE tokens SET consent_note = replace(replace(replace(replace(replace(replace(replace(replace(replace(consent_note, chr(8234), ''), chr(8235), ''), chr(8236), ''), chr(8237), ''), chr(8238), ''), chr(8294), ''), chr(8295), ''), chr(8296), ''), chr(8297), '')
    WHERE strpos(consent_note, chr(8234)) > 0 OR strpos(consent_note, chr(8235)) > 0 OR strpos(consent_note, chr(8236)) > 0 OR strpos(consent_note, chr(8237)) > 0 OR strpos(consent_note, chr(8238)) > 0 OR strpos(consent_note, chr(8294)) > 0 OR strpos(consent_note, chr(8295)) > 0 OR strpos(consent_note, chr(8296)) > 0 OR strpos(consent_note, chr(8297)) > 0;

UPDATE notices SET consent_note = replace(replace(replace(replace(replace(replace(replace(replace(replace(consent_note, chr(8234), ''), chr(8235), ''), chr(8236), ''), chr(8237), ''), chr(8238), ''), chr(8294), ''), chr(8295), ''), chr(8296), ''), chr(8297), '')
    WHERE strpos(consent_note, chr(8234)) > 0 OR strpos(consent_note, chr(8235)) > 0 OR strpos(consent_note, chr(8236)) > 0 OR strpos(consent_note, chr(8237)) > 0 OR strpos(consent_note, chr(8238)) > 0 OR strpos(consent_note, chr(8294)) > 0 OR strpos(consent_note, chr(8295)) > 0 OR strpos(consent_note, chr(8296)) > 0 OR strpos(consent_note, chr(8297)) > 0;
