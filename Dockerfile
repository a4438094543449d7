# BrowserGrid appliance as a container. It drives the host's Docker engine through the
# mounted socket and, on the host network, reaches browser containers on their bridge.
#
#   bash scripts/build.sh
#   docker build -t browsergrid/appliance .            # or --build-arg BASE=browsergrid/debian-base:bookworm
#   docker run -d --name browsergrid --network host --stop-timeout 30 \
#     -v /var/run/docker.sock:/var/run/docker.sock -v browsergrid-data:/data browsergrid/appliance
#
# A stop ends the sessions that are not keep-alive and removes their browsers in up to 20 s
# (Docker's default stop timeout, 10 s, may cut that short: hence --stop-timeout 30).
#
# The compiled binary is self-contained (API, UI, migrations); the base image needs only
# ca-certificates. No build step runs inside the image, so no registry or toolchain is needed.
ARG BASE=debian:bookworm-slim
FROM ${BASE}
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="BrowserGrid" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.description="Self-hosted browser grid: Chromium in containers, a CDP URL per session"
COPY dist/browsergrid /usr/local/bin/browsergrid
ENV BROWSERGRID_HOST=127.0.0.1 \
    BROWSERGRID_PORT=7070 \
    BROWSERGRID_DATA_DIR=/data
VOLUME /data
HEALTHCHECK --interval=10s --timeout=3s CMD ["/usr/local/bin/browsergrid", "doctor", "--healthz"]
ENTRYPOINT ["/usr/local/bin/browsergrid"]
CMD ["serve"]
