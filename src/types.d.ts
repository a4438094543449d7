declare module "*.css" {
  const path: string;
  export default path;
}
declare module "*.svg" {
  const path: string;
  export default path;
}
declare module "htmx.org/dist/htmx.min.js" {
  const path: string;
  export default path;
}
declare module "*/public/app.js" {
  const path: string;
  export default path;
}
declare module "*/public/live.js" {
  const path: string;
  export default path;
}
