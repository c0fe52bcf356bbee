// Package interop holds a test suite that runs sealgate between real mail
// software on loopback: a clinic's Postfix relaying to it (SASL over
// STARTTLS or a client certificate, DSN, SMTPUTF8, connection caching,
// soft_bounce, its own bounces), Exim relaying to it, Nodemailer (pooled,
// AUTH, HTML and attachments) and Python's smtplib as applications, and
// Postfix and Exim as receiving MX hosts found through a loopback DNS
// server; every DKIM signature is checked by opendkim-testmsg and dkimpy.
// docs/interop.md is the guide it backs.
//
// The suite needs root (the peers bind port 25 and 53 on loopback
// addresses of their own) and the tools .ci/run installs. Outside CI it
// skips when one is missing; with CI=true it never skips. It starts its own
// Postfix and Exim instances, each with its own configuration and queue in
// a temporary folder, and leaves a system Postfix alone.
package interop
