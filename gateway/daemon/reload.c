/*
 * reload.c - SIGHUP: read both config files again and swap the new
 * configuration in without losing queued records or open alerts.
 *
 * Load -> validate -> commit: an invalid file leaves everything running as
 * it was, with every error logged as file:line. A valid one is prepared
 * first (new acquisition, then the compliance engine, which carries open
 * alerts and open periods over), and only then swapped
 * in: buses are closed and reopened from the new config, the sinks are made
 * again (they resend what their peers had not acknowledged: the outbox
 * cursors are on disk), and the outbox is reopened only when the set of
 * sinks changed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "base/clock.h"

/* What the new config needs before anything is swapped. */
struct prepared {
	struct acquire *acq;
	bool *active_dirty;
};

static int prepare(const struct config *nc, struct prepared *p)
{
	p->acq = acquire_new(nc, clock_mono_ms());
	p->active_dirty = calloc(nc->n_outlets + 1, sizeof(*p->active_dirty));
	if (p->acq && p->active_dirty)
		return 0;
	acquire_free(p->acq);
	free(p->active_dirty);
	return -ENOMEM;
}

/* The engine's output arrays for its new size; on failure the old ones
 * stay and events beyond them are counted as lost by the engine. */
static void resize_outputs(struct daemon *d)
{
	int max = compliance_max_events(d->comp);
	struct rec_alert *ev;
	struct record *tr;

	if (max <= d->max_events)
		return;
	ev = calloc((size_t)max, sizeof(*ev));
	tr = calloc((size_t)max, sizeof(*tr));
	if (!ev || !tr) {
		free(ev);
		free(tr);
		log_err("reload: out of memory for %d alert events; keeping room for %d",
			max, d->max_events);
		return;
	}
	free(d->events);
	free(d->tick_recs);
	d->events = ev;
	d->tick_recs = tr;
	d->max_events = max;
}

static bool same_sinks(const struct daemon *d, const char *const *names, int n)
{
	if (n != d->n_sinks)
		return false;
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], d->sink_names[i]) != 0)
			return false;
	return true;
}

/* The sinks again for the new config; the outbox too if their set changed. */
static void remake_sinks(struct daemon *d)
{
	const char *old[DAEMON_MAX_SINKS];
	int n_old = d->n_sinks;

	memcpy(old, d->sink_names, sizeof(old));
	daemon_free_sinks(d); /* they point into the old config */
	daemon_name_sinks(d);
	if (!same_sinks(d, old, n_old)) {
		int n_new = d->n_sinks;

		log_notice("reload: the set of sinks changed; reopening the outbox");
		outbox_close(d->ob);
		d->ob = NULL;
		if (daemon_open_outbox(d, clock_mono_ms()) < 0) {
			log_err("reload: cannot reopen the outbox; stopping so that the "
				"service manager restarts outfalld");
			d->stop = true;
			d->n_sinks = 0;
			return;
		}
		d->n_sinks = n_new;
	}
	if (daemon_add_sinks(d, d->started_ms) < 0)
		log_err("reload: a sink refused its new settings; it stays off until the "
			"next reload");
}

static void commit(struct daemon *d, struct config *nc, struct prepared *p)
{
	struct config *old = d->cfg;

	acquire_free(d->acq);
	d->acq = p->acq;
	free(d->active_dirty);
	d->active_dirty = p->active_dirty;
	for (size_t o = 0; o < nc->n_outlets; o++)
		d->active_dirty[o] = true;
	resize_outputs(d);
	d->cfg = nc;
	setenv("TZ", nc->timezone, 1);
	tzset();
	remake_sinks(d);
	config_free(old);
}

void daemon_reload(struct daemon *d)
{
	struct config *nc = NULL;
	struct prepared p;
	int rc;

	log_notice("SIGHUP: reading %s again", d->path);
	rc = config_load(d->path, &nc, stderr);
	if (rc != 0) {
		log_err("reload: %s: %d error%s (listed above); the running configuration stays",
			d->path, rc, rc == 1 ? "" : "s");
		return;
	}
	if (prepare(nc, &p) < 0) {
		log_err("reload: out of memory; the running configuration stays");
		config_free(nc);
		return;
	}
	daemon_compliance_step(d, clock_mono_ms()); /* close what ended, on the old rules */
	if (compliance_reload(&d->comp, nc, clock_wall_ms()) < 0) {
		log_err("reload: out of memory; the running configuration stays");
		acquire_free(p.acq);
		free(p.active_dirty);
		config_free(nc);
		return;
	}
	commit(d, nc, &p);
	if (daemon_status_init(d) < 0)
		log_warn("status: no room for a snapshot; outfallctl status will have none");
	daemon_save_state(d, true);
	log_notice("reload: done: %zu sensors on %zu buses, %zu outlets, %zu permits, %d sinks",
		   nc->n_sensors, nc->n_buses, nc->n_outlets, nc->n_permits, d->n_sinks);
}
