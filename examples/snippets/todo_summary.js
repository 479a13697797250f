// CloudMine snippet for the `shared_todos` example: run with `f=todo_summary`
// on a search, it gets the search's answer in `data.success` and counts the
// open and done items. It is the body of a function of `data` and `exit`.
var todos = data.success || {};
var summary = { open: 0, done: 0, titles: [] };
for (var key in todos) {
  if (!todos.hasOwnProperty(key)) continue;
  if (todos[key].done) summary.done += 1;
  else summary.open += 1;
  summary.titles.push(todos[key].title);
}
summary.titles.sort();
exit(summary);
