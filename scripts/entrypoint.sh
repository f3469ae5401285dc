#!/bin/sh
# Entry point of the Yunfleet image (/entrypoint).
#
#   IMAGE scheduler                   -> airflow scheduler       (compose: `command: scheduler`)
#   IMAGE celery worker               -> airflow celery worker   (Airflow's worker subcommand)
#   IMAGE celery --app ... inspect    -> celery --app ... inspect (the bare Celery CLI: health checks)
#   IMAGE bash -c "exec airflow ..."  -> as given (the official Helm chart's form)
#   IMAGE python -m sandbox           -> as given
#   IMAGE /some/path args             -> as given
#   IMAGE                             -> airflow version
#
# bash, sh, python, python3, airflow, yunfleet and absolute paths run as given; any other first word
# is an Airflow subcommand. The official Helm chart calls /entrypoint by path in its probes.
set -e
if [ "$#" -eq 0 ]; then
    set -- version
fi
case "$1" in
    bash | sh | python | python3 | airflow | yunfleet | /*) ;;
    celery)
        case "$2" in
            worker | stop | flower) set -- airflow "$@" ;;
        esac
        ;;
    *) set -- airflow "$@" ;;
esac
exec "$@"
