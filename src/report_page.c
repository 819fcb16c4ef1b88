/*
 * The report of a period as one self-contained HTML page: inline SVG charts, no script, no
 * network, print CSS. Every figure stands in an element with data-fig (its name) and data-v
 * (the raw number, seconds for times), so that tests and tools can read the page. The figures
 * come from report.c, like those of the stats command; `respa report` (report_html.c) and the
 * admins' report command (commands.c, by mail) write it.
 */
#include <stdlib.h>
#include <string.h>

#include "respa.h"

#define W 720 /* chart width */
#define H 180 /* chart plot height */

/* Text for HTML: & < > " escaped. */
static void
esc(FILE *f, const char *s)
{
	for (; *s; s++)
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
}

/* A figure: <td data-fig="name" data-v="v">text</td>; text NULL: the number itself. */
static void
fig(FILE *f, const char *tag, const char *name, long v, const char *text)
{
	fprintf(f, "<%s data-fig=\"", tag);
	esc(f, name);
	fprintf(f, "\" data-v=\"%ld\">", v);
	if (text)
		esc(f, text);
	else
		fprintf(f, "%ld", v);
	fprintf(f, "</%s>", tag);
}

static void
fig_time(FILE *f, const char *name, long n, long secs)
{
	char text[32];

	if (n == 0) {
		fprintf(f, "<td data-fig=\"");
		esc(f, name);
		fprintf(f, "\" data-v=\"\">&ndash;</td>");
		return;
	}
	report_duration(secs, text, sizeof(text));
	fig(f, "td", name, secs, text);
}

static void
fig_pct(FILE *f, const char *name, long part, long whole)
{
	char text[32];

	if (whole == 0) {
		fprintf(f, "<td data-fig=\"%s\" data-v=\"\">&ndash;</td>", name);
		return;
	}
	snprintf(text, sizeof(text), "%ld%%", report_percent(part, whole));
	fig(f, "td", name, report_percent(part, whole), text);
}

/*
 * A bar chart: a[i] (and b[i] stacked on it, or with overlay drawn behind it as a wider
 * light bar: a median in front of its 90th percentile).
 */
static void
svg_bars(FILE *f, const char *label, size_t n, const char *const *names, const long *a,
    const long *b, int overlay, const char *ca, const char *cb)
{
	long top = 0;
	double bw = (double)(W - 40) / (double)n;
	size_t i;

	for (i = 0; i < n; i++) {
		long v = overlay ? (a[i] > (b ? b[i] : 0) ? a[i] : b[i]) : a[i] + (b ? b[i] : 0);

		if (v > top)
			top = v;
	}
	fprintf(f, "<svg viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"", W, H + 40);
	esc(f, label);
	fprintf(f, "\"><line x1=\"36\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"axis\"/>", H + 4, W,
	    H + 4);
	fprintf(f, "<text x=\"32\" y=\"14\" class=\"tick\" text-anchor=\"end\">%ld</text>", top);
	for (i = 0; i < n && top > 0; i++) {
		double x = 40 + bw * (double)i, ha = (double)a[i] * H / (double)top,
		       hb = b ? (double)b[i] * H / (double)top : 0;

		if (overlay && b)
			fprintf(f,
			    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
			    "fill=\"%s\"/>",
			    x + 1, H + 4 - hb, bw - 2, hb, cb);
		fprintf(f,
		    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>",
		    x + (overlay ? bw / 4 : 1), H + 4 - ha, overlay ? bw / 2 : bw - 2, ha, ca);
		if (b && !overlay)
			fprintf(f,
			    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
			    "fill=\"%s\"/>",
			    x + 1, H + 4 - ha - hb, bw - 2, hb, cb);
	}
	for (i = 0; i < n; i++) {
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" class=\"tick\" text-anchor=\"middle\">",
		    40 + bw * ((double)i + 0.5), H + 20);
		esc(f, names[i]);
		fputs("</text>", f);
	}
	fputs("</svg>\n", f);
}

static void
legend(FILE *f, const char *ca, const char *a, const char *cb, const char *b)
{
	fprintf(f, "<p class=\"legend\"><span style=\"background:%s\"></span>%s", ca, a);
	if (cb)
		fprintf(f, " <span style=\"background:%s\"></span>%s", cb, b);
	fputs("</p>\n", f);
}

#define C_IN "#2b6cb0"
#define C_OUT "#dd6b20"
#define C_P50 "#2f855a"
#define C_P90 "#9ae6b4"

static void
headline(FILE *f, const struct report *r)
{
	long out = r->total - r->in_hours;

	fputs("<h2>Headline</h2>\n<table class=\"kv\">\n", f);
	fputs("<tr><th>Contacts</th>", f);
	fig(f, "td", "total", r->total, NULL);
	fputs("</tr>\n<tr><th>In business hours</th>", f);
	fig(f, "td", "in_hours", r->in_hours, NULL);
	fputs("</tr>\n<tr><th>Out of hours</th>", f);
	fig(f, "td", "out_hours", out, NULL);
	fputs("</tr>\n<tr><th>Out of hours, share</th>", f);
	fig_pct(f, "out_hours_pct", out, r->total);
	fputs("</tr>\n<tr><th>First response, median</th>", f);
	fig_time(f, "first_p50", r->first.n, r->first.median);
	fputs("</tr>\n<tr><th>First response, 90th percentile</th>", f);
	fig_time(f, "first_p90", r->first.n, r->first.p90);
	fputs("</tr>\n<tr><th>Chats with a first response</th>", f);
	fig(f, "td", "first_n", r->first.n, NULL);
	fputs("</tr>\n<tr><th>Wait before an agent, median</th>", f);
	fig_time(f, "wait_p50", r->wait.n, r->wait.median);
	fputs("</tr>\n<tr><th>Handling time, mean</th>", f);
	fig_time(f, "handling_avg", r->handling.n, (long)(r->handling.avg + 0.5));
	fputs("</tr>\n<tr><th>Closed by an agent</th>", f);
	fig(f, "td", "by_agent", r->by_agent, NULL);
	fputs("</tr>\n<tr><th>Resolved by an agent</th>", f);
	fig(f, "td", "resolved", r->resolved, NULL);
	fprintf(f, "</tr>\n<tr><th>First-contact resolution (not back within %d days)</th>",
	    r->span.fcr_days);
	fig(f, "td", "fcr", r->fcr, NULL);
	fputs("</tr>\n<tr><th>First-contact resolution rate</th>", f);
	fig_pct(f, "fcr_pct", r->fcr, r->by_agent);
	fputs("</tr>\n</table>\n", f);
}

static void
by_hour(FILE *f, const struct report *r)
{
	static char hn[24][4];
	const char *names[24];
	long in[24], out[24], p50[24], p90[24];
	char key[32];
	int h;

	for (h = 0; h < 24; h++) {
		snprintf(hn[h], sizeof(hn[h]), "%d", h);
		names[h] = hn[h];
		in[h] = r->hour[h][0];
		out[h] = r->hour[h][1];
		p50[h] = r->first_by_hour[h].median;
		p90[h] = r->first_by_hour[h].p90;
	}
	fputs("<section><h2>Contacts by hour of day</h2>\n<p>Each queue's local time; blue: "
	      "within its business hours, orange: out of hours.</p>\n",
	    f);
	svg_bars(f, "Contacts by hour of day", 24, names, in, out, 0, C_IN, C_OUT);
	legend(f, C_IN, "in hours", C_OUT, "out of hours");
	fputs("<table class=\"data\"><tr><th>Hour</th><th>In hours</th><th>Out of hours</th>"
	      "<th>First response p50</th><th>p90</th><th>Answered</th></tr>\n",
	    f);
	for (h = 0; h < 24; h++) {
		fprintf(f, "<tr><td>%02d</td>", h);
		snprintf(key, sizeof(key), "hour.%d.in", h);
		fig(f, "td", key, in[h], NULL);
		snprintf(key, sizeof(key), "hour.%d.out", h);
		fig(f, "td", key, out[h], NULL);
		snprintf(key, sizeof(key), "hour.%d.first_p50", h);
		fig_time(f, key, r->first_by_hour[h].n, p50[h]);
		snprintf(key, sizeof(key), "hour.%d.first_p90", h);
		fig_time(f, key, r->first_by_hour[h].n, p90[h]);
		snprintf(key, sizeof(key), "hour.%d.first_n", h);
		fig(f, "td", key, r->first_by_hour[h].n, NULL);
		fputs("</tr>\n", f);
	}
	fputs("</table></section>\n", f);
	fputs("<section><h2>First response by hour of day</h2>\n<p>Only answers that reached "
	      "the customer. Dark: median; light: 90th percentile (seconds).</p>\n",
	    f);
	svg_bars(f, "First response by hour", 24, names, p50, p90, 1, C_P50, C_P90);
	legend(f, C_P50, "median", C_P90, "90th percentile");
	fputs("</section>\n", f);
}

static void
by_weekday(FILE *f, const struct report *r)
{
	long in[7], out[7];
	char key[32];
	int d;

	for (d = 0; d < 7; d++) {
		in[d] = r->weekday_in[d];
		out[d] = r->weekday[d] - r->weekday_in[d];
	}
	fputs("<section><h2>Contacts by weekday</h2>\n", f);
	svg_bars(f, "Contacts by weekday", 7, report_weekdays, in, out, 0, C_IN, C_OUT);
	legend(f, C_IN, "in hours", C_OUT, "out of hours");
	fputs("<table class=\"data\"><tr>", f);
	for (d = 0; d < 7; d++)
		fprintf(f, "<th>%s</th>", report_weekdays[d]);
	fputs("</tr><tr>", f);
	for (d = 0; d < 7; d++) {
		snprintf(key, sizeof(key), "weekday.%d", d);
		fig(f, "td", key, r->weekday[d], NULL);
	}
	fputs("</tr></table></section>\n", f);
}

static void
rows_chart(FILE *f, const char *title, const char *prefix, const struct report_row *v, size_t n)
{
	const char **names = xcalloc(n + 1, sizeof(*names));
	long *a = xcalloc(n + 1, sizeof(*a));
	char *key;
	size_t i;

	for (i = 0; i < n; i++) {
		names[i] = v[i].key;
		a[i] = v[i].a;
	}
	fprintf(f, "<section><h2>%s</h2>\n", title);
	if (n)
		svg_bars(f, title, n, names, a, NULL, 0, C_IN, NULL);
	fputs("<table class=\"data\">", f);
	for (i = 0; i < n; i++) {
		fputs("<tr><th>", f);
		esc(f, v[i].key);
		fputs("</th>", f);
		key = xasprintf("%s.%s", prefix, v[i].key);
		fig(f, "td", key, v[i].a, NULL);
		free(key);
		fputs("</tr>\n", f);
	}
	fputs("</table></section>\n", f);
	free(names);
	free(a);
}

static void
outcomes(FILE *f, const struct report *r)
{
	static const char *const names[OUTCOME_COUNT] = { "in time", "notice+task", "left",
		"offline", "full", "waiting" };
	char key[32];
	int o;

	fputs("<section><h2>What became of the contacts</h2>\n", f);
	svg_bars(f, "Outcomes", OUTCOME_COUNT, names, r->outcome, NULL, 0, C_IN, NULL);
	fputs("<table class=\"data\">", f);
	for (o = 0; o < OUTCOME_COUNT; o++) {
		fprintf(f, "<tr><th>%s</th>", report_outcome_names[o]);
		snprintf(key, sizeof(key), "outcome.%d", o);
		fig(f, "td", key, r->outcome[o], NULL);
		snprintf(key, sizeof(key), "outcome.%d.pct", o);
		fig_pct(f, key, r->outcome[o], r->total);
		fputs("</tr>\n", f);
	}
	fputs("</table></section>\n", f);
}

/* Contact reasons, most frequent first, with the cumulative share as a line (Pareto). */
static void
pareto(FILE *f, const struct report *r)
{
	long top = 0, sum = 0, cum = 0;
	size_t i, n = r->ntags;
	double bw;
	char *key;

	fputs("<section><h2>Contact reasons</h2>\n", f);
	for (i = 0; i < n; i++) {
		sum += r->tags[i].a;
		if (r->tags[i].a > top)
			top = r->tags[i].a;
	}
	if (n == 0) {
		fputs("<p>No contact reasons tagged in this period or the one before.</p>"
		      "</section>\n",
		    f);
		return;
	}
	if (top > 0) {
		bw = (double)(W - 80) / (double)n;
		fprintf(f,
		    "<svg viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"Contact reasons\">", W,
		    H + 60);
		fprintf(f, "<line x1=\"36\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"axis\"/>", H + 4,
		    W - 40, H + 4);
		fprintf(f, "<text x=\"32\" y=\"14\" class=\"tick\" text-anchor=\"end\">%ld</text>",
		    top);
		fprintf(f,
		    "<text x=\"%d\" y=\"14\" class=\"tick\">100%%</text><polyline fill=\"none\" "
		    "stroke=\"" C_OUT "\" stroke-width=\"2\" points=\"",
		    W - 36);
		for (i = 0; i < n; i++) {
			cum += r->tags[i].a;
			fprintf(f, "%.1f,%.1f ", 40 + bw * ((double)i + 0.5),
			    H + 4 - (double)cum * H / (double)(sum ? sum : 1));
		}
		fputs("\"/>", f);
		for (i = 0; i < n; i++) {
			double h = (double)r->tags[i].a * H / (double)top;

			fprintf(f,
			    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
			    "fill=\"" C_IN "\" fill-opacity=\"0.85\"/>",
			    40 + bw * (double)i + 1, H + 4 - h, bw - 2, h);
			fprintf(f,
			    "<text x=\"%.1f\" y=\"%d\" class=\"tick\" text-anchor=\"end\" "
			    "transform=\"rotate(-35 %.1f %d)\">",
			    40 + bw * ((double)i + 0.5), H + 18, 40 + bw * ((double)i + 0.5),
			    H + 18);
			esc(f, r->tags[i].key);
			fputs("</text>", f);
		}
		fputs("</svg>\n", f);
		legend(f, C_IN, "contacts", C_OUT, "cumulative share");
	}
	fputs("<table class=\"data\"><tr><th>Reason</th><th>Contacts</th><th>Share</th>"
	      "<th>Cumulative</th><th>Period before</th><th>Change</th></tr>\n",
	    f);
	cum = 0;
	for (i = 0; i < n; i++) {
		char ch[32];

		cum += r->tags[i].a;
		fputs("<tr><th>", f);
		esc(f, r->tags[i].key);
		fputs("</th>", f);
		key = xasprintf("tag.%s", r->tags[i].key);
		fig(f, "td", key, r->tags[i].a, NULL);
		free(key);
		key = xasprintf("tag.%s.pct", r->tags[i].key);
		fig_pct(f, key, r->tags[i].a, sum);
		free(key);
		key = xasprintf("tag.%s.cum", r->tags[i].key);
		fig_pct(f, key, cum, sum);
		free(key);
		key = xasprintf("tag.%s.prev", r->tags[i].key);
		fig(f, "td", key, r->tags[i].b, NULL);
		free(key);
		snprintf(ch, sizeof(ch), "%+ld", r->tags[i].a - r->tags[i].b);
		key = xasprintf("tag.%s.change", r->tags[i].key);
		fig(f, "td", key, r->tags[i].a - r->tags[i].b, ch);
		free(key);
		fputs("</tr>\n", f);
	}
	fputs("</table></section>\n", f);
}

static void
ratings(FILE *f, const struct report *r)
{
	static const char *const names[5] = { "1", "2", "3", "4", "5" };
	char text[32];
	int i;

	fputs("<section><h2>Ratings</h2>\n", f);
	if (!r->has_ratings || r->rated == 0) {
		fig(f, "p", "ratings", 0, "No ratings in this period.");
		fputs("</section>\n", f);
		return;
	}
	svg_bars(f, "Ratings", 5, names, r->scores, NULL, 0, C_IN, NULL);
	fputs("<table class=\"kv\"><tr><th>Rated</th>", f);
	fig(f, "td", "ratings", r->rated, NULL);
	fputs("</tr><tr><th>Asked</th>", f);
	fig(f, "td", "ratings_asked", r->asked, NULL);
	snprintf(text, sizeof(text), "%.2f", r->rating);
	fputs("</tr><tr><th>Mean score (1-5)</th>", f);
	fig(f, "td", "rating_avg", (long)(r->rating * 100 + 0.5), text);
	fputs("</tr>", f);
	for (i = 0; i < 5; i++) {
		snprintf(text, sizeof(text), "score.%d", i + 1);
		fprintf(f, "<tr><th>Score %d</th>", i + 1);
		fig(f, "td", text, r->scores[i], NULL);
		fputs("</tr>", f);
	}
	fputs("</table></section>\n", f);
}

static void
agents(FILE *f, const struct report *r)
{
	char *key, text[32];
	size_t i;

	fputs("<section class=\"agents\"><h2>Agents</h2>\n", f);
	if (r->nagents == 0) {
		fputs("<p>No agent had a chat in this period.</p></section>\n", f);
		return;
	}
	fputs("<table class=\"data\"><tr><th>Agent</th><th>Chats</th><th>First response "
	      "p50</th><th>Handling (mean)</th><th>Closed</th><th>FCR</th><th>Missed offers</th>"
	      "<th>Rating</th></tr>\n",
	    f);
	for (i = 0; i < r->nagents; i++) {
		const struct report_agent *a = &r->agents[i];

		fputs("<tr><th>", f);
		esc(f, a->jid);
		fputs("</th>", f);
#define AG(what) (key = xasprintf("agent.%s." what, a->jid))
		fig(f, "td", AG("chats"), a->chats, NULL);
		free(key);
		fig_time(f, AG("first_p50"), a->first.n, a->first.median);
		free(key);
		fig_time(f, AG("handling_avg"), a->handling.n, (long)(a->handling.avg + 0.5));
		free(key);
		fig(f, "td", AG("closed"), a->closed, NULL);
		free(key);
		fig_pct(f, AG("fcr_pct"), a->fcr, a->closed);
		free(key);
		fig(f, "td", AG("missed"), a->missed, NULL);
		free(key);
		if (a->rated) {
			snprintf(text, sizeof(text), "%.2f (%ld)", a->rating, a->rated);
			fig(f, "td", AG("rating"), (long)(a->rating * 100 + 0.5), text);
		} else
			fig(f, "td", AG("rating"), 0, "\xe2\x80\x93");
		free(key);
#undef AG
		fputs("</tr>\n", f);
	}
	fputs("</table></section>\n", f);
}

static void
tasks(FILE *f, const struct report *r)
{
	fputs("<section><h2>Tasks</h2>\n<table class=\"kv\"><tr><th>Created</th>", f);
	fig(f, "td", "tasks_created", r->tasks_created, NULL);
	fputs("</tr><tr><th>Done</th>", f);
	fig(f, "td", "tasks_done", r->tasks_done, NULL);
	fputs("</tr><tr><th>Open past their due time at the period's end</th>", f);
	fig(f, "td", "tasks_overdue", r->tasks_overdue, NULL);
	fputs("</tr></table></section>\n", f);
}

static const char css[] =
    "body{font:14px/1.4 sans-serif;color:#1a202c;max-width:760px;margin:2em auto;padding:0 "
    "1em}h1{font-size:22px}h2{font-size:17px;margin-top:1.6em;border-bottom:1px solid "
    "#cbd5e0}svg{width:100%;height:auto;display:block}.axis{stroke:#4a5568}.tick{font-size:"
    "11px;fill:#4a5568}table{border-collapse:collapse;margin:.5em 0}td,th{padding:2px "
    "8px;text-align:right;border-bottom:1px solid #e2e8f0}th{text-align:left;font-weight:"
    "normal;color:#4a5568}.legend span{display:inline-block;width:10px;height:10px;margin:0 "
    "4px 0 10px}.data{font-size:12px}.empty{font-size:18px;padding:1em;background:#fefcbf}"
    "@media print{body{margin:0;max-width:none}section{break-inside:avoid}.agents{break-inside:"
    "auto}h2{break-after:avoid}}";

/* The whole page of a computed report. */
void
report_page(FILE *f, const struct report *r)
{
	char a[32], b[32];

	time_iso(r->span.since, a);
	time_iso(r->span.until, b);
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	      "style-src 'unsafe-inline'\">"
	      "<title>respa report</title><style>",
	    f);
	fputs(css, f);
	fputs("</style></head><body>\n<h1>respa report</h1>\n<p>Contacts that began from <time "
	      "data-fig=\"since\">",
	    f);
	fputs(a, f);
	fputs("</time> until <time data-fig=\"until\">", f);
	fputs(b, f);
	fputs("</time> (UTC)", f);
	if (r->span.queue) {
		fputs(", queue <b data-fig=\"queue\">", f);
		esc(f, r->span.queue);
		fputs("</b>", f);
	} else
		fputs(", all queues", f);
	fputs(".</p>\n", f);
	headline(f, r);
	if (r->total == 0) {
		fputs("<p class=\"empty\" data-fig=\"empty\" data-v=\"1\">No contacts in this "
		      "period.</p>\n",
		    f);
		tasks(f, r);
		fputs("</body></html>\n", f);
		return;
	}
	by_hour(f, r);
	by_weekday(f, r);
	rows_chart(f, "Contacts by channel", "channel", r->channels, r->nchannels);
	outcomes(f, r);
	pareto(f, r);
	ratings(f, r);
	agents(f, r);
	tasks(f, r);
	fputs("</body></html>\n", f);
}
