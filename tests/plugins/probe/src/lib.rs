use keeper_plugin_sdk::__private::bindings::rotator::exports::keeper::plugin::rotator::{
    Guest, PluginInfo, Rotation,
};
use keeper_plugin_sdk::__private::bindings::rotator::keeper::plugin::types::{Field, PluginError};
struct P;
impl Guest for P {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "probe".into(),
            summary: "x".into(),
            default_port: None,
            required_params: vec![],
            disallowed_chars: String::new(),
            max_length: None,
        }
    }
    fn prepare(_r: Rotation) -> Result<Vec<Field>, PluginError> {
        Ok(vec![])
    }
    fn rotate(_r: Rotation) -> Result<(), PluginError> {
        Ok(())
    }
    fn verify(_r: Rotation) -> Result<(), PluginError> {
        Ok(())
    }
    fn revert(_r: Rotation) -> Result<(), PluginError> {
        Ok(())
    }
}
keeper_plugin_sdk::__private::bindings::rotator::export_rotator!(P with_types_in keeper_plugin_sdk::__private::bindings::rotator);
