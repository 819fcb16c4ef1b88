/* Agents' slash commands, as written in a conversation: "/name arguments". Pure. */
#include <ctype.h>
#include <string.h>

#include "respa.h"

int
slash_parse(const char *body, struct slash *out)
{
	const char *p = body;
	size_t n = 0;

	while (*p == ' ' || *p == '\t')
		p++;
	if (p[0] != '/' || p[1] == '/')
		return 0; /* text; "//x" is the literal "/x" */
	p++;
	while (p[n] && !isspace((unsigned char)p[n]))
		n++;
	if (n == 0 || n >= sizeof(out->name)) {
		out->name[0] = '\0'; /* "/" alone, or a name too long to be one: unknown */
	} else {
		for (size_t i = 0; i < n; i++)
			out->name[i] = (char)tolower((unsigned char)p[i]);
		out->name[n] = '\0';
	}
	p += n;
	while (isspace((unsigned char)*p))
		p++;
	out->args = p;
	return 1;
}
