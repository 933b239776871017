/* diskcfg.c — parsing --disk PATH[,format=raw|qcow2][,ro][,serial=S][,backing=off]. */
#include <stdio.h>
#include <string.h>

#include "vmm/diskcfg.h"
#include "vmm/util.h"

static int parse_key(const char *key, const char *val, struct disk_config *out,
		     char *err, size_t errlen)
{
	if (!strcmp(key, "file") || !strcmp(key, "path")) {
		if (!val || !*val)
			return util__fail(err, errlen, "--disk: %s= needs a file name", key);
		if (strlen(val) >= sizeof(out->path))
			return util__fail(err, errlen, "--disk: file name too long");
		strcpy(out->path, val);
	} else if (!strcmp(key, "format")) {
		if (val && !strcmp(val, "raw"))
			out->format = DISK_FORMAT_RAW;
		else if (val && !strcmp(val, "qcow2"))
			out->format = DISK_FORMAT_QCOW2;
		else
			return util__fail(err, errlen, "--disk: unknown format '%s' (use raw or qcow2)",
					  val ? val : "");
	} else if (!strcmp(key, "ro") || !strcmp(key, "readonly")) {
		if (!val || !strcmp(val, "on") || !strcmp(val, "true"))
			out->read_only = true;
		else if (!strcmp(val, "off") || !strcmp(val, "false"))
			out->read_only = false;
		else
			return util__fail(err, errlen, "--disk: %s=%s: use on or off", key, val);
	} else if (!strcmp(key, "serial")) {
		if (!val || strlen(val) > 20)
			return util__fail(err, errlen, "--disk: serial= takes 1 to 20 characters");
		for (const char *p = val; *p; p++)
			if (*p < 0x21 || *p > 0x7e)
				return util__fail(err, errlen, "--disk: serial '%s': printable ASCII without spaces only", val);
		strcpy(out->serial, val);
	} else if (!strcmp(key, "backing")) {
		if (val && (!strcmp(val, "off") || !strcmp(val, "false")))
			out->no_backing = true;
		else if (val && (!strcmp(val, "on") || !strcmp(val, "true")))
			out->no_backing = false;
		else
			return util__fail(err, errlen, "--disk: backing=%s: use on or off", val ? val : "");
	} else {
		return util__fail(err, errlen, "--disk: unknown key '%s' (use format=, ro, serial=, backing=)", key);
	}
	return 0;
}

int diskcfg__parse(const char *value, struct disk_config *out, char *err, size_t errlen)
{
	char buf[PATH_MAX + 128];
	char *save = NULL, *tok;
	bool first = true;

	memset(out, 0, sizeof(*out));
	if (!value || !*value)
		return util__fail(err, errlen, "--disk needs an image file");
	if (strlen(value) >= sizeof(buf))
		return util__fail(err, errlen, "--disk: value too long");
	strcpy(buf, value);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save), first = false) {
		char *eq = strchr(tok, '=');

		if (first && !eq) {
			if (strlen(tok) >= sizeof(out->path))
				return util__fail(err, errlen, "--disk: file name too long");
			strcpy(out->path, tok);
			continue;
		}
		if (eq)
			*eq++ = '\0';
		if (parse_key(tok, eq, out, err, errlen) < 0)
			return -1;
	}
	if (!out->path[0])
		return util__fail(err, errlen, "--disk '%s': no image file given", value);
	return 0;
}
