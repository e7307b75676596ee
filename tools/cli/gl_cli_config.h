/*  gl_cli_config — gapless config: check a configuration file, print the
    reference of every key.
*/
#ifndef GL_CLI_CONFIG_H_INCLUDED
#define GL_CLI_CONFIG_H_INCLUDED

//  gapless config check FILE... | reference. Returns the exit status.
int gl_cli_config (int argc, char **argv);

#endif
