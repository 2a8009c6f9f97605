# Runs the ODB compiler over a persistent-class header at build time.
# Generated sources land in the build tree only; the schema changelogs are
# read from the source tree (committed) and written to the build tree, so a
# build never edits sources.
find_program(ODB_COMPILER odb REQUIRED)

function(odb_compile out_var)
  cmake_parse_arguments(ARG "" "HEADER;CHANGELOG_DIR;INCLUDE_PREFIX" "INCLUDE_DIRS" ${ARGN})
  get_filename_component(name ${ARG_HEADER} NAME_WE)
  set(out_dir ${CMAKE_CURRENT_BINARY_DIR}/odb/${ARG_INCLUDE_PREFIX})
  set(outputs)
  foreach(suffix "" "-mysql" "-sqlite")
    list(APPEND outputs ${out_dir}/${name}-odb${suffix}.cxx)
  endforeach()
  set(includes)
  foreach(dir ${ARG_INCLUDE_DIRS})
    list(APPEND includes -I${dir})
  endforeach()
  set(changelogs)
  foreach(db mysql sqlite)
    set(in ${ARG_CHANGELOG_DIR}/${name}-${db}.xml)
    list(APPEND changelogs
      --changelog-in ${db}:${in}
      --changelog-out ${db}:${out_dir}/${name}-${db}.xml)
  endforeach()
  add_custom_command(
    OUTPUT ${outputs}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${out_dir}
    COMMAND ${ODB_COMPILER}
      -d common -d mysql -d sqlite --multi-database dynamic
      --std c++11 --generate-query --generate-prepared --generate-schema
      --schema-format embedded
      --include-prefix ${ARG_INCLUDE_PREFIX}
      ${changelogs}
      -o ${out_dir} ${includes} ${ARG_HEADER}
    DEPENDS ${ARG_HEADER} ${ARG_CHANGELOG_DIR}/${name}-mysql.xml
            ${ARG_CHANGELOG_DIR}/${name}-sqlite.xml
    COMMENT "ODB compiling ${name}"
    VERBATIM)
  set(${out_var} ${outputs} PARENT_SCOPE)
  set(${out_var}_DIR ${CMAKE_CURRENT_BINARY_DIR}/odb PARENT_SCOPE)
endfunction()
