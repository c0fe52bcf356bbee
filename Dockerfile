# sealgate: multi-stage build of a static binary, run as a non-root user.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/sealgate ./cmd/sealgate

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/sealgate /usr/local/bin/sealgate
# The spool, keys, portal store and audit log live here; mount a volume.
VOLUME ["/var/lib/sealgate"]
# 2525/2587: SMTP and submission inside the container (unprivileged ports);
# 9464: metrics. Map them to 25/587 on the host or the load balancer.
EXPOSE 2525 2587 9464
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/sealgate"]
CMD ["serve", "--config", "/etc/sealgate/sealgate.yaml"]
