// Package policy decides, for each message, whether it carries protected health
// information (PHI) and how it may leave: deliver, encrypt (optionally with a forced
// method), quarantine or block.
//
// # Reading
//
// Check walks every MIME part with go-message, with limits that go-message lacks
// (nesting depth, part count, decoded bytes per part and in total, wall time), sniffs
// each part by its bytes (a declared type that disagrees is read by what the bytes are),
// decodes transfer encodings and charsets (UTF-16/32 by byte-order mark or NUL layout),
// and hands each body to package extract: HTML (tokenised as browsers do), CSV, HL7 v2,
// C-CDA and other XML, JSON, PDF (every standard filter, object streams, fonts' text
// maps), Office and ODF documents, RTF, zip, gzip, xz, bzip2 and tar archives, and
// iCalendar. The Subject (RFC 2047 decoded), display names and attachment file names
// are read too, and message/rfc822 parts are walked as messages. Content that cannot be
// read - an unknown charset (UTF-7 included), a format no library here reads (7z, RAR,
// TNEF, legacy Office), an encrypted PDF or archive, a PDF page without a text layer, an
// image, audio or video part that is not decoration, a limit reached - is "unreadable",
// reported as a reason "unreadable_<why>" with its part. It cannot be cleared, so by
// default (Config.Unreadable = "encrypt") the verdict is PHI-possible: PHI and
// Unreadable are true and the message is encrypted. docs/phi-handling.md lists every
// format and reason.
//
// # Detecting
//
// Package detect runs validated detectors over the text and returns counts per
// detector, never the matched text: identifiers of an individual (SSN, MBI, record,
// account and member numbers after their context words, dates of birth, payment cards,
// personal phone numbers and addresses, patient labels, HL7 PID and C-CDA recordTarget),
// health information (condition, symptom, drug, procedure and specialty vocabularies,
// ICD-10-CM condition words, lab results, doses, ICD-10-CM and NDC codes, clinical HL7
// segments and C-CDA entries) and links (a name near health information, a greeting, a
// reader's or writer's own health). It also counts cue groups (data/cues.txt) that say
// who a message is about and what kind of message it is, and hashes words and word
// pairs into buckets for the scorer.
//
// # Scoring
//
// HIPAA's PHI is health information tied to an individual. A logistic regression over
// named features (features.go) weighs the detector totals, where findings sit, what the
// header says about the people involved, the links between a person and health
// information, and the word buckets; its weights (model_weights.go) are fitted by
// TestTrainModel on the labelled corpora in testdata/. The message is PHI from a
// probability of one half, with two rules beside the scorer: a message that nothing
// places in health care is not PHI, and an HL7 or C-CDA record naming its patient, or a
// validated SSN or MBI beside a diagnosis code or lab result, is. Engine.Explain says
// which features and findings decided.
//
// # Deciding
//
// The action starts at deliver ("encrypt_all" starts at encrypt). PHI raises it to
// encrypt, unreadable content to Config.Unreadable, a subject tag to encrypt. Rules are
// then evaluated in order; a matching rule raises the action (deliver < encrypt <
// quarantine < block) and may force an encryption method, and never lowers it.
package policy
