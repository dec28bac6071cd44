/* default.h - The default configuration embedded in the binary. */

#ifndef GWLOG_DEFAULT_H
#define GWLOG_DEFAULT_H


/* Prototypes */

/* The bytes of config/gwlog_exporter.yml, NUL-terminated at _end. */
extern const char config_default_yaml[];
extern const char config_default_yaml_end[];

#define CONFIG_DEFAULT_NAME  "config/gwlog_exporter.yml (embedded)"

#endif /* GWLOG_DEFAULT_H */
