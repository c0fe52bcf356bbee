# sealgate: multi-stage build of a static binary, run as a non-root user.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/sealgate ./cmd/sealgate
# The data folder, made here because the runtime image has no shell. Its
# parent's contents are copied, so the folder itself (not only what is in
# it) is owned by the non-root user, mode 0700; Docker copies it, owner
# included, into a fresh named volume mounted on it, so the first start can
# write.
RUN mkdir -p /out/var-lib/sealgate && chmod 0700 /out/var-lib/sealgate

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/sealgate /usr/local/bin/sealgate
COPY --from=build --chown=65532:65532 /out/var-lib/ /var/lib/
# Every command (serve, queue, portal, reload, health) finds the config here
# without --config: `docker exec CONTAINER sealgate queue list` just works.
ENV SEALGATE_CONFIG=/etc/sealgate/sealgate.yaml
# The spool, keys, portal store and audit log live here; mount a volume.
VOLUME ["/var/lib/sealgate"]
# 2525/2587: SMTP and submission inside the container (unprivileged ports);
# 8443: the pickup portal (HTTPS); 9464: metrics, /healthz and /readyz.
# Map them to 25/587/443 on the host or the load balancer.
EXPOSE 2525 2587 8443 9464
USER 65532:65532
# Healthy while the gateway takes mail, and while `sealgate node drain` has
# it out of service (it prints "draining", then "drained"), so the node is
# not killed mid hand-off: asked over the control socket in the data folder
# (the image has no shell or HTTP client).
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
  CMD ["/usr/local/bin/sealgate", "health"]
ENTRYPOINT ["/usr/local/bin/sealgate"]
CMD ["serve"]
