-- Bidirectional controls (U+202A–U+202E, U+2066–U+2069) are refused in names,
-- organisations and notes from now on (issue 17); any stored before are removed, so
-- that what was accepted then still reads as valid now. Nothing else changes.

UPDATE contacts SET name = replace(replace(replace(replace(replace(replace(replace(replace(replace(name, char(8234), ''), char(8235), ''), char(8236), ''), char(8237), ''), char(8238), ''), char(8294), ''), char(8295), ''), char(8296), ''), char(8297), '')
    WHERE instr(name, char(8234)) > 0 OR instr(name, char(8235)) > 0 OR instr(name, char(8236)) > 0 OR instr(name, char(8237)) > 0 OR instr(name, char(8238)) > 0 OR instr(name, char(8294)) > 0 OR instr(name, char(8295)) > 0 OR instr(name, char(8296)) > 0 OR instr(name, char(8297)) > 0;

UPDATE contacts SET organisation = replace(replace(replace(replace(replace(replace(replace(replace(replace(organisation, char(8234), ''), char(8235), ''), char(8236), ''), char(8237), ''), char(8238), ''), char(8294), ''), char(8295), ''), char(8296), ''), char(8297), '')
    WHERE instr(organisation, char(8234)) > 0 OR instr(organisation, char(8235)) > 0 OR instr(organisation, char(8236)) > 0 OR instr(organisation, char(8237)) > 0 OR instr(organisation, char(8238)) > 0 OR instr(organisation, char(8294)) > 0 OR instr(organisation, char(8295)) > 0 OR instr(organisation, char(8296)) > 0 OR instr(organisation, char(8297)) > 0;

UPDATE contacts SET consent_note = replace(replace(replace(replace(replace(replace(replace(replace(replace(consent_note, char(8234), ''), char(8235), ''), char(8236), ''), char(8237), ''), char(8238), ''), char(8294), ''), char(8295), ''), char(8296), ''), char(8297), '')
    WHERE instr(consent_note, char(8234)) > 0 OR instr(consent_note, char(8235)) > 0 OR instr(consent_note, char(8236)) > 0 OR instr(consent_note, char(8237)) > 0 OR instr(consent_note, char(8238)) > 0 OR instr(consent_note, char(8294)) > 0 OR instr(consent_note, char(8295)) > 0 OR instr(consent_note, char(8296)) > 0 OR instr(consent_note, char(8297)) > 0;

UPDATE subscription_requests SET name = replace(replace(replace(replace(replace(replace(replace(replace(replace(name, char(8234), ''), char(8235), ''), char(8236), ''), char(8237), ''), char(8238), ''), char(8294), ''), char(8295), ''), char(8296), ''), char(8297), '')
    WHERE instr(name, char(8234)) > 0 OR instr(name, char(8235)) > 0 OR instr(name, char(8236)) > 0 OR instr(name, char(8237)) > 0 OR instr(name, char(8238)) > 0 OR instr(name, char(8294)) > 0 OR instr(name, char(8295)) > 0 OR instr(name, char(8296)) > 0 OR instr(name, char(8297)) > 0;

UPDATE subscription_requests SET organisation = replace(replace(replace(replace(replace(replace(replace(replace(replace(organisation, char(8234), ''), char(8235), ''), char(8236), ''), char(8237), ''), char(8238), ''), char(8294), ''), char(8295), ''), char(8296), ''), char(8297), '')
    WHERE instr(organisation, char(8234)) > 0 OR instr(organisation, char(8235)) > 0 OR instr(organisation, char(8236)) > 0 OR instr(organisation, char(8237)) > 0 OR instr(organisation, char(8238)) > 0 OR instr(organisation, char(8294)) > 0 OR instr(organisation, char(8295)) > 0 OR instr(organisation, char(8296)) > 0 OR instr(organisation, char(8297)) > 0;

UPDATE tokens SET consent_note = replace(replace(replace(replace(replace(replace(replace(replace(replace(consent_note, char(8234), ''), char(8235), ''), char(8236), ''), char(8237), ''), char(8238), ''), char(8294), ''), char(8295), ''), char(8296), ''), char(8297), '')
    WHERE instr(consent_note, char(8234)) > 0 OR instr(consent_note, char(8235)) > 0 OR instr(consent_note, char(8236)) > 0 OR instr(consent_note, char(8237)) > 0 OR instr(consent_note, char(8238)) > 0 OR instr(consent_note, char(8294)) > 0 OR instr(consent_note, char(8295)) > 0 OR instr(consent_note, char(8296)) > 0 OR instr(consent_note, char(8297)) > 0;

UPDATE notices SET consent_note = replace(replace(replace(replace(replace(replace(replace(replace(replace(consent_note, char(8234), ''), char(8235), ''), char(8236), ''), char(8237), ''), char(8238), ''), char(8294), ''), char(8295), ''), char(8296), ''), char(8297), '')
    WHERE instr(consent_note, char(8234)) > 0 OR instr(consent_note, char(8235)) > 0 OR instr(consent_note, char(8236)) > 0 OR instr(consent_note, char(8237)) > 0 OR instr(consent_note, char(8238)) > 0 OR instr(consent_note, char(8294)) > 0 OR instr(consent_note, char(8295)) > 0 OR instr(consent_note, char(8296)) > 0 OR instr(consent_note, char(8297)) > 0;
