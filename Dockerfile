# Multi-stage build: a static fieldsyncd (pure-Go SQLite, no cgo) on a
# distroless base, running as a non-root user.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -tags nodynamic -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/fieldsyncd ./cmd/fieldsyncd \
 && CGO_ENABLED=0 go build -tags nodynamic -trimpath -ldflags "-s -w" -o /out/fieldctl ./cmd/fieldctl \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/fieldsyncd /out/fieldctl /usr/local/bin/
COPY --from=build --chown=nonroot:nonroot /out/data /data
USER nonroot:nonroot
ENV FIELDSYNC_DATA_DIR=/data FIELDSYNC_ADDR=:8080 FIELDSYNC_LOG_FORMAT=json
EXPOSE 8080
VOLUME ["/data"]
ENTRYPOINT ["/usr/local/bin/fieldsyncd"]
