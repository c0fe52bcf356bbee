"""Sends messages through sealgate with Python's smtplib, as a script or a
small application would: STARTTLS with the CA checked, AUTH, then each
message as given (smtplib only dot-stuffs). Reads a JSON job (argv[1]) and
prints a JSON list of results. Every network wait is bounded."""
import json
import smtplib
import ssl
import sys

job = json.load(open(sys.argv[1], encoding="utf-8"))
ctx = ssl.create_default_context(cafile=job["ca"])
results = []
with smtplib.SMTP(job["host"], int(job["port"]), local_hostname="script.clinic.test", timeout=20) as s:
    # The certificate names 127.0.0.1 as well; smtplib checks it against the host.
    s.starttls(context=ctx)
    s.login(job["user"], job["pass"])
    for m in job["messages"]:
        opts = ["SMTPUTF8"] if m["utf8"] else []
        try:
            refused = s.sendmail(m["from"], [m["to"]], m["data"].encode("utf-8"), mail_options=opts)
            results.append({"id": m["id"], "refused": list(refused)})
        except smtplib.SMTPException as e:
            results.append({"id": m["id"], "error": str(e)})
print(json.dumps(results))
