// Package policy decides, for each message, whether it carries protected health
// information (PHI) and how it may leave: deliver, encrypt (optionally with a forced
// method), quarantine or block.
//
// # Reading
//
// Check walks every MIME part with go-message, with limits that go-message lacks
// (nesting depth, part count, decoded bytes per part and in total, wall time),
// decodes transfer encodings and charsets, and hands each body to package extract,
// which turns HTML, CSV, HL7 v2, C-CDA XML, JSON, PDF text layers, Office documents,
// zip archives and iCalendar files into text. The Subject (RFC 2047 decoded) and
// attachment file names are read too, and message/rfc822 parts are walked as messages.
// Content that cannot be read - an unknown charset or transfer encoding, truncated
// base64, an encrypted PDF or archive, a PDF without a text layer, a limit reached - is
// "unreadable content", reported as a reason "unreadable_<why>" (charset,
// transfer_encoding, decode_error, mime_structure, limit, encrypted, no_text_layer,
// corrupt, unsupported_format) with its part. It cannot be cleared, so by default
// (Config.Unreadable = "encrypt") the verdict is PHI-possible: PHI and Unreadable are
// true and the message is encrypted.
//
// # Detecting
//
// Package detect runs validated detectors over the text and returns counts per
// detector, never the matched text. They fall in three groups:
//
//   - Identifiers of an individual: SSN (SSA area/group/serial rules; dashed, spaced,
//     dotted, or nine digits after SSN words), Medicare MBI (CMS format), medical record
//     and account numbers and member IDs (after their context words), dates of birth (a
//     date after DOB words), payment cards (Luhn and IIN), personal phone numbers and
//     street addresses (after "cell", "home phone", "ship to" ...), a name after a patient
//     label ("Patient: Ann Lee", "PATIENT: LEE, ANN"), HL7 PID segments and C-CDA
//     recordTarget patients.
//   - Health information: condition, drug, procedure and specialty vocabularies (data
//     files in detect/data, English and Spanish, plus generic-drug and disease word
//     endings), lab results (analyte, value, unit or reference range), doses, ICD-10-CM
//     codes with clinical context, NDC codes after "NDC", DEA numbers, HL7 OBX/DG1
//     segments and C-CDA observations.
//   - Links and context: a person's name close to health information; the message
//     greeting or naming its recipient; health words after "your"/"su"; animal-care
//     words; bulk-mail markers. NPIs are found but identify providers, not patients.
//
// # Scoring
//
// HIPAA's PHI is health information tied to an individual. An identifier alone (a
// customer number on an invoice, a phone number in a footer) is not PHI; health
// information alone (an article about sleep apnea, a formulary notice with NDC codes,
// ICD codes in a coding tip) is not PHI. The message is PHI when:
//
//  1. an identifier of an individual and health information appear in the same message
//     (any parts: a patient label in the body ties to a diagnosis in an attachment); or
//  2. a person's name stands within a few words of specific health information
//     (a condition, medicine, lab result or diagnosis code) - names after a clinician's
//     title, role or credentials ("Dr.", "Chief of Surgery", ", MD"), before what
//     professionals do ("presented", "said"), in greetings, in signatures, or matching the
//     sender's display name do not count, and bulk mail does not use this rule; or
//  3. the message speaks to a named recipient (a greeting, the recipient's name in the
//     text, a person's name in To/Cc, or a single To mailbox that is neither a role like
//     records@ nor an organisation) and carries health information that is the
//     recipient's own: health words right after "your"/"su" ("your calcitriol", not "your
//     gift to the cancer center" nor "your diabetes program"), care after "your" or a
//     care event ("visit confirmed") in a message with health vocabulary, or a clinical
//     finding (a lab value that is not an average, a diagnosis code). Bulk mail
//     (unsubscribe links, webinars, demos) needs the greeting and a clinical finding; or
//  4. a person (the From display name) writes about their own health ("my insulin",
//     "I have had stomach cramps").
//
// Health information about an animal (veterinary words, and no human-only identifier)
// is not PHI. Each reason carries the detector's confidence; the decision itself uses
// the rules above, which keep every verdict explainable by its reasons.
//
// # Deciding
//
// The action starts at deliver ("encrypt_all" starts at encrypt). PHI raises it to
// encrypt, unreadable content to Config.Unreadable, a subject tag to encrypt. Rules are
// then evaluated in order; a matching rule raises the action (deliver < encrypt <
// quarantine < block) and may force an encryption method, and never lowers it.
package policy
