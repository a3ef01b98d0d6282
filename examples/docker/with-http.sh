#!/bin/sh
# Entry point of the example servers: the hostname HTTP service in the background, hacloud in front.
# exec keeps hacloud the container's main process, so `docker-compose kill/stop` hits hacloud itself.
node /opt/hacloud/examples/docker/hostname-http.mjs &
exec hacloud "$@"
