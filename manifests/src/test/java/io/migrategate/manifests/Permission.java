package io.migrategate.manifests;

import java.net.URI;
import java.util.List;

/** One verb on one resource: the unit a role grants and an API call needs. */
record Permission(String group, String resource, String verb) implements Comparable<Permission> {

  /**
   * The permission an API request needs, from its method and path (the API server's own request
   * info rules, for the resource requests the gate makes).
   */
  static Permission of(String method, URI uri) {
    List<String> parts = List.of(uri.getPath().replaceAll("^/|/$", "").split("/"));
    String group;
    List<String> rest;
    if (parts.get(0).equals("api")) {
      group = "";
      rest = parts.subList(2, parts.size());
    } else if (parts.get(0).equals("apis")) {
      group = parts.get(1);
      rest = parts.subList(3, parts.size());
    } else {
      throw new IllegalArgumentException("not a resource request: " + method + " " + uri);
    }
    if (rest.size() >= 2 && rest.get(0).equals("namespaces") && rest.size() > 2) {
      rest = rest.subList(2, rest.size());
    }
    String resource = rest.get(0);
    boolean named = rest.size() > 1;
    String query = uri.getRawQuery() == null ? "" : uri.getRawQuery();
    String verb =
        switch (method) {
          case "GET" ->
              named ? "get" : query.matches("(.*&)?watch=(true|1)(&.*)?") ? "watch" : "list";
          case "POST" -> "create";
          case "PUT" -> "update";
          case "PATCH" -> "patch";
          case "DELETE" -> named ? "delete" : "deletecollection";
          default -> throw new IllegalArgumentException("unexpected method " + method);
        };
    return new Permission(group, resource, verb);
  }

  @Override
  public int compareTo(Permission other) {
    return toString().compareTo(other.toString());
  }

  @Override
  public String toString() {
    return verb + " " + (group.isEmpty() ? "" : group + "/") + resource;
  }
}
