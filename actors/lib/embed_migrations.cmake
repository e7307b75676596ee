# Writes OUTPUT, a C file holding every migrations/NNNN_name.sql of
# SOURCE_DIR as bytes, so gapless migrate carries the schema it was built
# with and needs no source tree at run time. Run by a custom command at
# build time: cmake -DSOURCE_DIR=... -DOUTPUT=... -P embed_migrations.cmake
file(GLOB files RELATIVE ${SOURCE_DIR} ${SOURCE_DIR}/[0-9][0-9][0-9][0-9]_*.sql)
list(SORT files)
set(body "/*  Generated from migrations/ at build time; do not edit.  */\n")
string(APPEND body "#include \"gl_migrate.h\"\n\n")
set(table "")
set(index 0)
foreach(file ${files})
  file(READ ${SOURCE_DIR}/${file} hex HEX)
  string(LENGTH "${hex}" length)
  math(EXPR size "${length} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(APPEND body "static const char s_text_${index} [] = { ${bytes} 0 };\n")
  string(APPEND table "    { \"${file}\", s_text_${index}, ${size} },\n")
  math(EXPR index "${index} + 1")
endforeach()
string(APPEND body "\nconst gl_migrate_source_t gl_migrate_builtin [] = {\n${table}    { NULL, NULL, 0 }\n};\n")
# Rewritten only when it changes, so a build does not recompile for nothing.
if(EXISTS ${OUTPUT})
  file(READ ${OUTPUT} old)
endif()
if(NOT "${old}" STREQUAL "${body}")
  file(WRITE ${OUTPUT} "${body}")
endif()
